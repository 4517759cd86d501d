"""Stages amend post decisions: the job's stages that see more than one post (campaigns, media floods) say
which posts to decide again and with what (a signal to add, bank entries quarantined for it), and one pass
decides each such post again from its input line, with every amendment it has at once.

    amendments (id, content, signal | quarantine) ──groupBy(id)──▶ ⋈ decisions ──mapInPandas──▶ decided again
    decisions minus those ∪ decided again ──▶ the decisions the job chains and writes

A post decided again keeps its decision id (the same post, content and policy version), so a rerun or a retried
task writes the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bastion.spark import columns

#: One amendment of one post: a signal to add (JSON) or a bank entry to treat as quarantined.
AMEND_SCHEMA = "id string, content string, signal string, quarantine long"
REDECIDED_SCHEMA = ("kind string, id string, subject_id string, date string, decision string, digest string, "
                    "raw string")
DECISION_COLUMNS = columns(REDECIDED_SCHEMA)


def redecide(decisions: Any, amendments: Any, conf: str) -> Any:
    """``decisions`` (the job's decision rows) with every amended post decided again."""
    from pyspark.sql import functions as F

    grouped = amendments.groupBy("id").agg(F.first("content").alias("content"),
                                           F.collect_list("signal").alias("signals"),
                                           F.collect_set("quarantine").alias("quarantine"))
    # the amended posts are few beside the job's decisions (a campaign's members, posts after a flood): their
    # ids are broadcast, so the decisions (each with its input line) are filtered where they lie, never shuffled
    ids = F.broadcast(grouped.select("id"))
    decisions = decisions.select(*DECISION_COLUMNS)
    again = decisions.join(ids, "id", "left_semi").join(grouped, "id").mapInPandas(_redecide(conf),
                                                                                  REDECIDED_SCHEMA)
    return decisions.join(ids, "id", "left_anti").unionByName(again)


def _redecide(conf: str) -> Any:
    def redecide_them(frames: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from bastion.signals import Signal
        from bastion.spark import manifest
        from bastion.spark.score import Amended, scorer

        s = scorer(conf)
        for pdf in frames:
            records = list(pdf.itertuples(index=False))
            items = [Amended(raw=str(r.raw), post_id=str(r.subject_id), content=str(r.content),
                             signals=tuple(Signal.from_json(json.loads(x)) for x in r.signals),
                             quarantine=frozenset(int(e) for e in r.quarantine)) for r in records]
            rows = []
            for r, d in zip(records, s.decide_again(items), strict=True):
                if d.id != r.id:  # the same post, content and policy make the same id; anything else is a bug
                    raise RuntimeError(f"post {r.subject_id}: decided again as {d.id}, first as {r.id}")
                text = json.dumps(d.to_record(), sort_keys=True, default=str)
                rows.append({"kind": "decision", "id": d.id, "subject_id": r.subject_id, "date": r.date,
                             "decision": text, "digest": manifest.digest(text), "raw": r.raw})
            yield pd.DataFrame(rows, columns=DECISION_COLUMNS)

    return redecide_them
