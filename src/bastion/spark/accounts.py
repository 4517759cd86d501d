"""Account risk on Spark's own operators: what the ``account_risk`` detector keeps per account, computed for a
whole job at once.

The tasks emit, beside each post's decision, the post's strike through the policy and its interactions, and
every profile, interaction and suspension record (:class:`bastion.spark.score.AccountRows`). Then:

    strikes ──groupBy(account)──▶ strike state (replayed in input order, time-decayed: the detector's RiskModel)
    profiles ──groupBy(account)──▶ the last profile read
    suspensions + own suspensions ──▶ seeds ◀── accounts whose own risk is already high
    interactions ──▶ weighted walk ──iterative joins──▶ propagated badness ──join──▶ each account's network value
    state ⋈ profile ⋈ network ──▶ account_risk signal ──policy──▶ account decisions

The propagation is the detector's label propagation with restart (:func:`bastion.accounts.network.propagate`):
each round one job (the walk joined with the scores, summed per node, joined with the last round's state),
until no score moves by ``tol`` or after ``iters`` rounds, each round's state (seed value, score, how far it
moved) checkpointed so the plan stays one round deep and the convergence check is a scan of it. Differences from
a local scan, by design: the network is propagated once, over the whole input, from seeds whose own risk is
computed without network (a scan re-propagates after every batch, so seeds there can also come from network risk
found earlier); an account is decided once, on its final score (a scan decides an account again each time its
score moves by ``emit_delta``); and the post decisions are made without the ``account_risk`` post signal, which a
scan adds from the author's state at the time of the post. Avatar look-alikes of suspended accounts are not
computed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bastion.accounts.network import KIND_WEIGHTS
from bastion.records import EdgeKind
from bastion.spark.grouped import per_key

ALPHA = 0.85  # the detector's defaults (AccountRiskDetector)
PRIOR = 1.0
SEED_THRESHOLD = 0.9
EMIT_DELTA = 0.05
ITERS = 50
TOL = 1e-6
AMPLIFIED = 0.5

STATE_SCHEMA = "account string, strikes double, last_time double, posts long, top string"
DECISION_SCHEMA = "id string, subject_id string, decision string, digest string"


def account_decisions(scored: Any, conf: str, evasion: Any = None) -> Any:
    """The account decisions (``id``, ``subject_id``, ``decision`` JSON, ``digest``) from a job's scored rows;
    with ``evasion`` (account, ``ban_evasion`` signal JSON: :mod:`bastion.spark.evasion`) an account is decided
    on both signals, as a scan decides an account on every account-level signal it has."""
    from pyspark.sql import functions as F

    # a post read twice counts once; computed once here (a shuffle of every post), not again by each reader
    strikes = scored.where("kind = 'strike'").dropDuplicates(["id"]) \
        .select("account", "file", "line", "value", "at", "record_id", "reason", "field", "raw").localCheckpoint()
    states = per_key(strikes.drop("field", "raw"), "account", ["file", "line"], _replay, STATE_SCHEMA)
    order = F.struct("file", "line")
    profiles = scored.where("kind = 'profile'").groupBy("account") \
        .agg(F.max_by(F.struct("value", "reason"), order).alias("p")) \
        .select("account", F.col("p.value").alias("profile"), F.col("p.reason").alias("markers"))
    accounts = states.join(profiles, "account", "full").fillna({"strikes": 0.0, "posts": 0, "profile": 0.0}) \
        .persist()
    # own risk without network (the detector's score with network 0): posts and profile
    own = accounts.select("account", (1.0 - F.exp(-F.col("strikes")) * (1.0 - F.least(F.lit(1.0), "profile")))
                          .alias("own"))
    enforced = scored.where("kind = 'enforced'").groupBy("account") \
        .agg(F.max_by("value", order).alias("v")).where("v = 1").select("account")
    suspended = enforced.union(strikes.where("field = 'suspends'").select("account")).distinct()
    seeds = suspended.select(F.col("account").alias("node"), F.lit(1.0).alias("y")).union(
        own.where(F.col("own") >= SEED_THRESHOLD).join(suspended, "account", "left_anti")
        .select(F.col("account").alias("node"), F.col("own").alias("y")))

    edges = _edges(scored, strikes).localCheckpoint()  # read by the walk, its nodes and its amplifiers
    directed = edges.groupBy("src", "dst").agg(F.sum("w").alias("w")).persist()
    bad = _badness(directed, edges, seeds)
    network = directed.join(bad, directed.dst == bad.node, "left") \
        .select("src", "dst", "w", (F.col("w") * F.coalesce(F.col("bad"), F.lit(0.0))).alias("c")) \
        .groupBy("src").agg((F.sum("c") / (F.sum("w") + PRIOR)).alias("network"),
                            F.sort_array(F.collect_list(F.when(F.col("c") > 0, F.struct((-F.col("c")).alias("k"),
                                                                                         F.col("dst")))))
                            .alias("refs")) \
        .select(F.col("src").alias("account"), "network", F.slice("refs", 1, 3).getField("dst").alias("refs"))
    table = accounts.join(network, "account", "left").fillna({"network": 0.0})
    if evasion is not None:
        table = table.join(evasion, "account", "full").fillna({"strikes": 0.0, "posts": 0, "profile": 0.0,
                                                               "network": 0.0})
    else:
        table = table.withColumn("signal", F.lit(None).cast("string"))
    return table.mapInPandas(_decide(conf), DECISION_SCHEMA)


def _edges(scored: Any, strikes: Any) -> Any:
    """Every interaction as (src, dst, kind, weight): the posts' own (mentions, reposts) and the records'."""
    from pyspark.sql import functions as F

    from_posts = strikes.select("account", F.explode(F.from_json("raw", "array<array<string>>")).alias("e")) \
        .select(F.col("account").alias("src"), F.col("e")[0].alias("dst"), F.col("e")[1].alias("kind"))
    from_records = scored.where("kind = 'edge'").select(F.col("account").alias("src"),
                                                        F.col("record_id").alias("dst"),
                                                        F.col("reason").alias("kind"))
    weight = F.lit(0.5)
    for kind, w in KIND_WEIGHTS.items():
        weight = F.when(F.col("kind") == kind, F.lit(w)).otherwise(weight)
    return from_posts.union(from_records).where(F.col("src") != F.col("dst")).withColumn("w", weight)


def _badness(directed: Any, edges: Any, seeds: Any) -> Any:
    """(node, bad): label propagation with restart from the seeds, as iterative joins, read as badness."""
    from pyspark.sql import functions as F

    amplifiers = edges.where(F.col("kind") == EdgeKind.REPOST.value) \
        .select(F.col("dst").alias("src"), F.col("src").alias("dst"), (F.col("w") * AMPLIFIED).alias("w"))
    a = directed.union(amplifiers).groupBy("src", "dst").agg(F.sum("w").alias("w"))
    walk = a.join(a.groupBy("src").agg(F.sum("w").alias("deg")), "src") \
        .select("src", "dst", (F.col("w") / F.col("deg")).alias("p")).localCheckpoint()
    nodes = edges.select(F.col("src").alias("node")).union(edges.select(F.col("dst").alias("node"))).distinct()
    y = seeds.join(nodes, "node").groupBy("node").agg(F.max("y").alias("y"))
    # each round: the walk joined with the scores, summed per node, joined with the last round's state (y and
    # s) - one job, checkpointed; how far a score moved is a column of it, so the convergence check is a scan
    s = y.select("node", "y", F.col("y").alias("s")).localCheckpoint()
    for _ in range(ITERS):
        spread = walk.join(s.select("node", "s"), walk.dst == s.node) \
            .groupBy("src").agg(F.sum(F.col("p") * F.col("s")).alias("m"))
        y0 = F.coalesce(F.col("y"), F.lit(0.0))
        now = F.greatest(ALPHA * F.coalesce(F.col("m"), F.lit(0.0)) + (1 - ALPHA) * y0, y0)
        nxt = spread.withColumnRenamed("src", "node").join(s, "node", "full") \
            .select("node", "y", now.alias("s"), F.abs(now - F.coalesce(F.col("s"), F.lit(0.0))).alias("moved")) \
            .localCheckpoint()
        moved = nxt.agg(F.max("moved")).first()[0]
        s = nxt.drop("moved")
        if moved is None or moved < TOL:
            break
    return s.select(
        "node", F.when(F.col("y").isNotNull(), F.col("y"))
        .otherwise(F.least(F.lit(1.0), F.col("s") / ALPHA)).alias("bad"))


def _replay(pdf: Any) -> list[dict[str, Any]]:
    """One account's strikes in input order (``pdf`` is sorted so) through the detector's own risk model."""
    import pandas as pd

    from bastion.accounts.risk import AccountRiskState, RiskModel

    model, st = RiskModel(), AccountRiskState()
    for row in pdf.itertuples(index=False):
        at = None if pd.isna(row.at) else float(row.at)
        model.add_strike(st, float(row.value), at, str(row.record_id), str(row.reason or ""))
    top = [[c.source, c.ref, c.weight] for c in st.top_posts]
    return [{"account": str(pdf["account"].iloc[0]), "strikes": st.strikes, "last_time": st.last_time,
             "posts": st.posts, "top": json.dumps(top)}]


def _decide(conf: str) -> Any:
    def decide(frames: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from bastion.accounts.detector import SIGNAL, AccountRiskDetector
        from bastion.accounts.risk import AccountRiskState, Contribution, RiskModel
        from bastion.signals import Signal
        from bastion.spark.score import scorer

        s, model = scorer(conf), RiskModel()
        for pdf in frames:
            rows = []
            for r in pdf.itertuples(index=False):
                st = AccountRiskState(
                    strikes=float(r.strikes), last_time=None if pd.isna(r.last_time) else float(r.last_time),
                    posts=int(r.posts), profile=float(r.profile), network=float(r.network),
                    top_posts=[Contribution(str(a), str(b), float(c)) for a, b, c in json.loads(r.top or "[]")],
                    profile_markers=json.loads(r.markers) if isinstance(r.markers, str) else [],
                    network_refs=list(r.refs) if r.refs is not None else [])
                value = model.score(st)
                signals = {}
                if value >= EMIT_DELTA:
                    signals[SIGNAL] = Signal(name=SIGNAL, value=value, detector=AccountRiskDetector.name,
                                             version=AccountRiskDetector.version, details=model.explain(st))
                if isinstance(r.signal, str):  # ban evasion's, when it runs
                    other = Signal.from_json(json.loads(r.signal))
                    signals[other.name] = other
                if signals:
                    rows.append(decision_row(s, str(r.account), signals))
            yield pd.DataFrame(rows, columns=["id", "subject_id", "decision", "digest"])

    return decide


def decision_row(s: Any, account: str, signals: dict[str, Any]) -> dict[str, str]:
    """An account's decision on its signals by scorer ``s``'s policy at the run's time, as a row of
    :data:`DECISION_SCHEMA`."""
    from bastion.policy.model import Subject
    from bastion.spark import manifest

    d = s.engine.decide(Subject.ACCOUNT, account, signals, now=s.now, account_id=account)
    text = json.dumps(d.to_record(), sort_keys=True, default=str)
    return {"id": d.id, "subject_id": d.subject_id, "decision": text, "digest": manifest.digest(text)}
