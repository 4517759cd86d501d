"""Flood quarantine on Spark: the media detector's flood guard, counted over the whole job per bank entry.

A bank entry that suddenly matches many distinct items is a bad hash (a blank frame, a logo), and the guard
(:class:`bastion.media.banks.flood.FloodGuard`) quarantines it so its matches stop counting as evidence. In a
scan the detector's one guard sees every match in order; on Spark each task matches its own posts without
counting (``observe_floods=False``) and emits one ``matched`` row per match that counted as evidence
(:class:`bastion.spark.score.MediaRows`). Then:

    matched ──groupBy(entry)──▶ the guard replayed over the entry's matches in event time ──▶ the flood (if
        any: when, how many distinct items) and the posts that matched the entry from then on
    those posts ──▶ amendments: the entry quarantined for them (:mod:`bastion.spark.amend` decides them again)

A post from the flood on is decided again with the entry quarantined, as a scan decides it; the floods go to
``floods/`` (JSON Lines, as :class:`~bastion.media.banks.flood.FloodEvent` writes them) for the entries'
review. Difference from a scan: the post that tips the entry over is decided with the entry quarantined, but
its signal does not carry the flood event itself (``floods/`` does).
"""

from __future__ import annotations

import json
from typing import Any

from bastion.spark import columns
from bastion.spark.amend import AMEND_SCHEMA
from bastion.spark.grouped import per_key

REPLAY_SCHEMA = "id string, content string, quarantine long, flood string"


def flood_stage(scored: Any, conf: str) -> tuple[Any, list[dict[str, Any]]]:
    """The amendments (each post matched by an entry after its flood: the entry quarantined) and the floods."""
    matched = scored.where("kind = 'matched'").dropDuplicates(["id", "account"]) \
        .select("id", "account", "reason", "field", "at", "file", "line", "digest")
    replayed = per_key(matched, "account", ["at", "file", "line"], _replay(conf), REPLAY_SCHEMA).persist()
    try:
        floods = [json.loads(r["flood"]) for r in replayed.where("flood is not null").collect()]
        amendments = replayed.where("id is not null").selectExpr(
            "id", "content", "cast(null as string) as signal", "quarantine").select(*columns(AMEND_SCHEMA)) \
            .localCheckpoint()
    finally:
        replayed.unpersist()
    return amendments, sorted(floods, key=lambda f: (f["at"], f["entry"]))


def _replay(conf: str) -> Any:
    def replay(pdf: Any) -> list[dict[str, Any]]:
        """One entry's matches in event time (``pdf`` is sorted so) through a flood guard with its bank's limit
        and window."""
        from bastion.media.banks.flood import FloodGuard
        from bastion.spark.score import scorer

        media = scorer(conf).media
        assert media is not None
        entry = int(pdf["account"].iloc[0])
        bank = media.detector.bankset.banks[str(pdf["reason"].iloc[0])]
        guard, flooded = FloodGuard(), False
        rows: list[dict[str, Any]] = []
        for r in pdf.itertuples(index=False):
            if not flooded:
                event = guard.observe(entry, bank.name, str(r.field), float(r.at), limit=bank.flood_limit,
                                      window_s=bank.flood_window_s)
                if event is None:
                    continue
                flooded = True
                rows.append({"flood": json.dumps(event.to_json())})
            rows.append({"id": r.id, "content": r.digest, "quarantine": entry})
        return rows

    return replay
