"""Ban evasion on Spark's own operators: every account of the input looked up against the fingerprints of the
suspended accounts by joins, with the ``ban_evasion`` detector's own keys, evidence and comparison.

The tasks emit each account record's fingerprint, each post's posting style and each suspension
(:class:`bastion.spark.score.EvasionRows`). Then:

    enforcement (last per account) + posts whose decision suspends ──▶ suspended accounts
    ⋈ profile (last) ⋈ style (first posts, window by event time) ──mapInPandas──▶ fingerprints and the keys they
        are filed under (the index's own ``keys_of``)                                  ──▶ filed (key, suspended)
    other accounts ⋈ style ──mapInPandas──▶ each one's query keys (``query_keys``) ──join(key)──▶ candidates,
        each key's evidence by how many suspended accounts share it (groupBy key) ──sum per pair──▶ the best
        ``rerank`` candidates per account (a window) ──join──▶ their fingerprints ──groupBy(account)──▶
        the exact comparison (``rank``) ──▶ the ``ban_evasion`` signal (``evasion_signal``)

This is :meth:`FingerprintIndex.query` written as joins: stage 1 (candidates by shared keys, rarer keys count
more) and stage 2 (exact comparison of the best few) are the index's code. Differences from a local scan, by
design: every account is checked against every account suspended anywhere in the input (a scan checks an
account against the suspensions seen before it); an account is checked once, with its posting style when it
has at least ``recheck_after_posts`` posts (a scan checks at registration, and again with the style after those
posts); a key shared by more than ``bucket_limit`` suspended accounts contributes its first ``bucket_limit`` by
account id (a scan: by filing order); and an account gets a decision only when a candidate scores at least
``min_report``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

SIGNALS_SCHEMA = "account string, signal string"
FILED_SCHEMA = "sid string, fp string, key long"
QUERY_SCHEMA = "account string, q string, key long, kind string, per_kind long"


def evasion_signals(scored: Any, conf: str) -> Any:
    """(account, ``ban_evasion`` signal JSON) for every account with a candidate scoring at least
    ``min_report``, from a job's scored rows."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from bastion.accounts.evasion_index import RARITY_KIND
    from bastion.spark.score import scorer

    s = scorer(conf)
    assert s.evasion is not None
    det = s.evasion.detector
    now = s.now.timestamp()  # when the job's own decisions suspend an account
    order = F.struct("file", "line")
    profiles = scored.where("kind = 'registered'").groupBy("account") \
        .agg(F.max_by(F.struct("raw", "field"), order).alias("p")) \
        .select("account", F.col("p.raw").alias("fp"), (F.col("p.field") == "marker").alias("marker"))
    authored = scored.where("kind = 'authored'")
    first = Window.partitionBy("account").orderBy("at", "file", "line")
    style = authored.withColumn("n", F.row_number().over(first)).groupBy("account") \
        .agg(F.count("*").alias("posts"),
             F.array_sort(F.collect_list(F.when(F.col("n") <= det.style_posts, F.struct("n", "raw"))))
             .getField("raw").alias("style"))
    enforced = scored.where("kind = 'enforced'").groupBy("account") \
        .agg(F.max_by(F.struct("value", "at"), order).alias("e")).where("e.value = 1") \
        .select("account", F.col("e.at").alias("at"))
    own = authored.where("field = 'suspends'").select("account", F.lit(now).alias("at"))
    suspended = enforced.unionByName(own).groupBy("account").agg(F.max("at").alias("at"))
    filed = suspended.join(profiles, "account").join(style, "account", "left") \
        .mapInPandas(_filed, FILED_SCHEMA).persist()
    try:
        on_file = filed.where("fp is not null").count()
        if on_file == 0:
            return scored.sparkSession.createDataFrame([], SIGNALS_SCHEMA)
        keys = filed.where("key is not null and key != 0").select("sid", "key")
        counts = keys.groupBy("key").agg(F.count("*").alias("cnt"))
        queries = profiles.join(suspended, "account", "left_anti").join(style, "account", "left") \
            .mapInPandas(_queries(det.recheck_after_posts), QUERY_SCHEMA)
        looked = queries.where("key is not null").join(counts, "key", "left").fillna({"cnt": 0}) \
            .mapInPandas(_with_lam, QUERY_SCHEMA + ", cnt long, lam double").persist()
        index_cfg = det.index.config
        bucket = Window.partitionBy("account", "key").orderBy("sid")
        pairs = looked.where("cnt > 0").select("account", "key", "lam").join(keys, "key") \
            .where(F.col("account") != F.col("sid")) \
            .withColumn("n", F.row_number().over(bucket)).where(F.col("n") <= index_cfg.bucket_limit) \
            .groupBy("account", "sid").agg(F.sum("lam").alias("total"))
        best = Window.partitionBy("account").orderBy(F.desc("total"), "sid")
        top = pairs.withColumn("r", F.row_number().over(best)).where(F.col("r") <= index_cfg.rerank) \
            .join(filed.where("fp is not null").select("sid", "fp"), "sid") \
            .groupBy("account").agg(F.collect_list("fp").alias("candidates"))
        rare = looked.where(F.col("kind").isin(*RARITY_KIND.values())).groupBy("account", "kind") \
            .agg(F.max("cnt").alias("cnt")).groupBy("account") \
            .agg(F.map_from_entries(F.collect_list(F.struct("kind", "cnt"))).alias("rare"))
        q = queries.where("q is not null").select("account", "q")
        out = top.join(q, "account").join(rare, "account", "left") \
            .mapInPandas(_rank(conf, on_file), SIGNALS_SCHEMA)
        return out.localCheckpoint()  # computed now, while the persisted inputs are there
    finally:
        filed.unpersist()


def _style(r: Any) -> list[str]:
    """The posting-style tokens of an account's first posts (in event time)."""
    raws = r.style if r.style is not None else []
    return [t for raw in raws for t in json.loads(raw)]


def _filed(frames: Iterator[Any]) -> Iterator[Any]:
    """Each suspended account's fingerprint (profile, style, suspension time) and the keys it is filed under."""
    from dataclasses import replace

    import pandas as pd

    from bastion.accounts.evasion_index import FingerprintIndex
    from bastion.accounts.fingerprint import Derived, Fingerprint

    index = FingerprintIndex()
    for pdf in frames:
        rows: list[dict[str, Any]] = []
        fps = [replace(Fingerprint.from_json(json.loads(r.fp)), style=tuple(_style(r)),
                       suspended_at=None if pd.isna(r.at) else float(r.at)) for r in pdf.itertuples(index=False)]
        for fp, keys in zip(fps, index.keys_of([Derived.of(fp) for fp in fps]), strict=True):
            rows.append({"sid": fp.account_id, "fp": json.dumps(fp.to_json()), "key": None})
            rows += [{"sid": fp.account_id, "fp": None, "key": k} for k in keys.view("int64").tolist()]
        yield _frame(rows, ["sid", "fp", "key"])


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """Rows as a frame whose 64-bit keys stay exact: beside the null key of a fingerprint's own row pandas would
    make them floats, and keys that differ only in their low bits would then meet in the join."""
    import pandas as pd

    df = pd.DataFrame([{c: r.get(c) for c in columns if c != "key"} for r in rows],
                      columns=[c for c in columns if c != "key"])
    df["key"] = pd.array([r.get("key") for r in rows], dtype="Int64")
    return df[columns]


def _queries(recheck_after_posts: int) -> Any:
    def queries(frames: Iterator[Any]) -> Iterator[Any]:
        """Each account's query (its fingerprint with its style once it has posted enough) and query keys."""
        from dataclasses import replace

        import pandas as pd

        from bastion.accounts.evasion_index import FingerprintIndex
        from bastion.accounts.fingerprint import Derived, Fingerprint

        index = FingerprintIndex()
        for pdf in frames:
            rows: list[dict[str, Any]] = []
            for r in pdf.itertuples(index=False):
                styled = not pd.isna(r.posts) and int(r.posts) >= recheck_after_posts
                fp = Fingerprint.from_json(json.loads(r.fp))
                if styled:
                    fp = replace(fp, style=tuple(_style(r)))
                kinds, keys = index.query_keys(Derived.of(fp, marker=bool(r.marker)))
                per_kind = {k: kinds.count(k) for k in set(kinds)}
                account = str(r.account)
                rows.append({"account": account, "key": None, "q": json.dumps(
                    {"fp": fp.to_json(), "marker": bool(r.marker),
                     "stage": "posting_style" if styled else "registration"})})
                rows += [{"account": account, "key": k, "kind": kind, "per_kind": per_kind[kind]}
                         for kind, k in zip(kinds, keys.view("int64").tolist(), strict=True)]
            yield _frame(rows, ["account", "q", "key", "kind", "per_kind"])

    return queries


def _with_lam(frames: Iterator[Any]) -> Iterator[Any]:
    """Each looked-up key's stage-1 evidence (the index's :func:`lam`)."""
    from bastion.accounts.evasion_index import lam

    for pdf in frames:
        pdf["lam"] = [lam(k, int(c), int(n)) for k, c, n in zip(pdf["kind"], pdf["cnt"], pdf["per_kind"],
                                                                  strict=True)]
        yield pdf


def _rank(conf: str, on_file: int) -> Any:
    def rank_them(frames: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from bastion.accounts.ban_evasion import evasion_signal
        from bastion.accounts.evasion_index import RARITY_KIND, rank, rarity
        from bastion.accounts.fingerprint import Derived, Fingerprint
        from bastion.spark.score import scorer

        stage = scorer(conf).evasion
        assert stage is not None
        det = stage.detector
        for pdf in frames:
            rows = []
            for r in pdf.itertuples(index=False):
                q = json.loads(r.q)
                d = Derived.of(Fingerprint.from_json(q["fp"]), marker=bool(q["marker"]))
                counts = dict(r.rare) if r.rare is not None else {}
                rare = {f: rarity(max(int(counts.get(kind, 1)), 1)) for f, kind in RARITY_KIND.items()}
                cands = [Fingerprint.from_json(json.loads(c)) for c in r.candidates]
                matches = rank(d, ((c, Derived.of(c)) for c in cands), det.top_k, rare, det.index.weights)
                sig = evasion_signal(matches, q["stage"], on_file, det.min_report)
                if sig.value >= det.min_report:
                    rows.append({"account": str(r.account), "signal": json.dumps(sig.to_json())})
            yield pd.DataFrame(rows, columns=["account", "signal"])

    return rank_them


def evasion_decisions(signals: Any, conf: str) -> Any:
    """Account decisions (``id``, ``subject_id``, ``decision`` JSON, ``digest``) on the ``ban_evasion`` signals
    alone (when the account stage does not run; when it does, it decides on both signals)."""
    from bastion.spark.accounts import DECISION_SCHEMA, decision_row

    def decide(frames: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from bastion.signals import Signal
        from bastion.spark.score import scorer

        s = scorer(conf)
        for pdf in frames:
            rows = []
            for r in pdf.itertuples(index=False):
                sig = Signal.from_json(json.loads(r.signal))
                rows.append(decision_row(s, str(r.account), {sig.name: sig}))
            yield pd.DataFrame(rows, columns=["id", "subject_id", "decision", "digest"])

    return signals.mapInPandas(decide, DECISION_SCHEMA)
