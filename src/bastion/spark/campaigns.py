"""Coordinated hashtag campaigns on Spark's own operators: the ``campaign`` detector's engine, partitioned by
hashtag, fed what Spark computes about each post's author.

The tasks emit, beside each post's decision, the post's hashtags, text score and near-duplicate fingerprint
(``tagged`` rows), each account record's profile score and creation time (``author``) and each suspension or
reinstatement (``enforced``) (:class:`bastion.spark.score.CampaignRows`). Then:

    tagged + enforced ──window(account, event time)──▶ the author's history at each post: posts, flagged, returned
    ⋈ author ──explode(hashtag)──▶ observations ──window(2h, slide 1h)──▶ hashtags with min_flagged flagged posts
    observations of those hashtags ──groupBy(hashtag)──▶ the stream's CampaignEngine, one hashtag's posts in
        event-time order ──▶ each hashtag's campaigns and the posts they take in (as ``observe`` returns them)
    driver: hashtags' campaigns that share participants while open ──▶ one campaign (the engine's ``overlapping``)
    members ──▶ amendments: each post's ``campaign`` signal (:mod:`bastion.spark.amend` decides them again)

The author's history is a running window function (posts, flagged posts and the last suspension so far, in
event time), exactly what the stream's account book holds when the post arrives. Sliding event-time windows of
twice the campaign window, sliding by one window, contain every span of one window, so no hashtag that could
burst is pruned; the burst test itself, the baselines, near-duplicates and the evidence score are the
engine's own code (:func:`bastion.campaigns.engine.suspicion`, :func:`~bastion.campaigns.engine.evidence`).

Differences from ``bastion scan --detectors ...,campaign``, by design: each hashtag's engine sees only that
hashtag's posts, so near-duplicate text and "co-occurs with an open campaign" count within the hashtag (a known
extremist hashtag on the post still counts); reposts do not carry a high-risk account's risk (amplification);
the author's risk is the stage's own estimate (history and profile; Spark's post decisions carry no
``account_risk`` signal); hashtags' campaigns are joined on their final participants; and a post's signal
lists the campaign's hashtags at the end of the run (its value is the campaign's score when the post came, as
in the stream). The campaign signal re-decides a post; it does not add to the author's strikes in the account
stage. Posts without a time are placed at the run's time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bastion.campaigns.campaign import Campaign, CampaignBook
from bastion.campaigns.engine import MAX_REASONS, CampaignConfig, CampaignEngine, PostInput, suspicion
from bastion.campaigns.heuristics import KnownHashtags
from bastion.spark.amend import AMEND_SCHEMA
from bastion.spark.grouped import per_key

REPLAY_SCHEMA = "kind string, tag string, cid string, state string, id string, post string, value double"


@dataclass(frozen=True, slots=True)
class Author:
    """What Spark computed about a post's author at the post's time."""

    posts: int
    flagged: int
    profile: float
    returned: bool
    known: bool  # the post carries a known extremist hashtag (any of its hashtags)


class TagEngine(CampaignEngine):
    """The stream's engine for one hashtag's posts, with the author's history given per post (computed over
    every hashtag by Spark) instead of kept in its own account book."""

    def __init__(self, config: CampaignConfig, known: KnownHashtags) -> None:
        super().__init__(config, known)
        self.authors: dict[str, Author] = {}

    def suspicion(self, p: PostInput) -> tuple[float, int]:
        a = self.authors[p.post_id]
        st = self.accounts.touch(p.account)  # kept here: the campaigns this account joined on this hashtag
        st.posts, st.flagged, st.profile = a.posts, a.flagged, a.profile
        return suspicion(self.config, p, risk=st.risk(self.config.participant_risk), returned=a.returned,
                         known=a.known,
                         in_campaign=any(self.book.for_tag(t, p.ts) is not None for t in p.hashtags))


def campaign_stage(spark: Any, scored: Any, conf: str) -> tuple[Any, list[Campaign]]:
    """The amendments (:mod:`bastion.spark.amend`: each campaign post's ``campaign`` signal) and the campaigns."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from bastion.spark.score import scorer

    stage = scorer(conf).campaign
    assert stage is not None
    cfg = stage.detector.config
    tagged = scored.where("kind = 'tagged'").dropDuplicates(["id"])  # a post read twice counts once
    order = F.struct("file", "line")
    authors = scored.where("kind = 'author'").groupBy("account") \
        .agg(F.max_by(F.struct("value", "at"), order).alias("p")) \
        .select("account", F.col("p.value").alias("profile"), F.col("p.at").alias("created"))
    # one timeline per account, in event time: its posts and its suspensions (a suspension first on a tie)
    timeline = tagged.select("account", "at", "file", "line", "id", F.lit(1).alias("is_post"),
                             (F.col("value") >= cfg.flag_threshold).cast("int").alias("flag"),
                             F.lit(None).cast("double").alias("enf")) \
        .unionByName(scored.where("kind = 'enforced'").select(
            "account", "at", "file", "line", F.lit(None).cast("string").alias("id"), F.lit(0).alias("is_post"),
            F.lit(0).alias("flag"), F.col("value").alias("enf")))
    so_far = Window.partitionBy("account").orderBy("at", "is_post", "file", "line") \
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    history = timeline.select("id", F.sum("is_post").over(so_far).alias("posts"),
                              F.sum("flag").over(so_far).alias("flagged"),
                              F.last("enf", ignorenulls=True).over(so_far).alias("enf"), "is_post") \
        .where("is_post = 1").select("id", "posts", "flagged", F.coalesce(F.col("enf") == 1, F.lit(False))
                                     .alias("returned"))
    obs = tagged.join(history, "id").join(authors, "account", "left") \
        .select("id", F.col("record_id").alias("post"), "account", "at", "file", "line",
                F.col("value").alias("text"), F.col("reason").alias("fp"), (F.col("field") == "known").alias("known"),
                F.col("digest").alias("content"), "posts", "flagged", "returned",
                F.coalesce("profile", F.lit(0.0)).alias("profile"), "created",
                F.posexplode(F.from_json("raw", "array<string>")).alias("pos", "tag")).persist()
    try:
        # could this post be flagged? (a superset of the engine's test; the engine decides)
        maybe = (F.col("text") >= cfg.flag_threshold) | F.col("known") | (F.col("profile") >= cfg.flag_threshold) \
            | (F.col("flagged") > 0)
        span = f"{int(2 * cfg.window_s)} seconds"
        candidates = obs.groupBy("tag", F.window(F.timestamp_seconds("at"), span, f"{int(cfg.window_s)} seconds")) \
            .agg(F.sum(maybe.cast("int")).alias("n")).where(F.col("n") >= cfg.min_flagged).select("tag").distinct()
        replayed = per_key(obs.join(candidates, "tag", "left_semi"), "tag", ["at", "file", "line"], _replay(conf),
                           REPLAY_SCHEMA).persist()
        per_tag = [(Campaign.from_state(json.loads(r["state"])), int(r["value"]))
                   for r in replayed.where("kind = 'campaign'").select("state", "value").collect()]
        campaigns, merged_into = merge(per_tag, cfg)
        if not campaigns:
            replayed.unpersist()
            return spark.createDataFrame([], AMEND_SCHEMA), []
        states = {c.id: c.to_state() for c in campaigns}
        ids = spark.createDataFrame([(cid, mid) for cid, mid in merged_into.items()], "cid string, mid string")
        members = replayed.where("kind = 'member'").join(F.broadcast(ids), "cid") \
            .groupBy("id").agg(F.max_by(F.struct("mid", "value"), "value").alias("m")) \
            .select("id", F.col("m.mid").alias("mid"), F.col("m.value").alias("value"))
        content = obs.select("id", "content").dropDuplicates(["id"])
        amendments = members.join(content, "id").mapInPandas(_signals(states), AMEND_SCHEMA).localCheckpoint()
        replayed.unpersist()
        return amendments, campaigns
    finally:
        obs.unpersist()


def merge(per_tag: Sequence[tuple[Campaign, int]], cfg: CampaignConfig) -> tuple[list[Campaign], dict[str, str]]:
    """Hashtags' campaigns as the stream's book joins them: in the order they were detected (on one post, in
    the order of its hashtags: ``(campaign, the hashtag's place in the post that opened it)``), one that
    shares participants with a campaign still open then (within ``ttl_s`` of its last post) joins it. Returns
    the campaigns and, for each hashtag campaign's id, the id of the campaign it is part of."""
    book = CampaignBook(cfg.ttl_s)
    merged_into: dict[str, str] = {}
    for c, _ in sorted(per_tag, key=lambda x: (x[0].detected_at, x[1], x[0].id)):
        into = book.overlapping(set(c.participants), c.detected_at)
        if into is None:
            book.open(replace(c, closed=False))
            merged_into[c.id] = c.id
            continue
        merged_into[c.id] = into.id
        for tag in c.hashtags:
            book.attach(into, tag, "barrage")
        for tag in c.hijacked:
            book.attach(into, tag, "hijack")
        into.started_at = min(into.started_at, c.started_at)
        into.last_seen = max(into.last_seen, c.last_seen)
        for account, n in c.participants.items():
            if account in into.participants or len(into.participants) < cfg.max_participants:
                into.participants[account] = into.participants.get(account, 0) + n
        into.sample_posts.extend(p for p in c.sample_posts[: max(0, cfg.max_samples - len(into.sample_posts))]
                                 if p not in into.sample_posts)
        into.posts += c.posts
        into.score = max(into.score, c.score)
        into.signals.update(c.signals)
        into.reasons.extend(r for r in c.reasons if r not in into.reasons)
        del into.reasons[MAX_REASONS:]
    return list(book), merged_into


def _replay(conf: str) -> Any:
    def replay(pdf: Any) -> list[dict[str, Any]]:
        """One hashtag's posts, in event time (``pdf`` is sorted so), through its own engine."""
        import pandas as pd

        from bastion.spark.score import scorer

        stage = scorer(conf).campaign
        assert stage is not None
        engine = TagEngine(stage.detector.config, stage.detector.known)
        tag = str(pdf["tag"].iloc[0])
        rows: list[dict[str, Any]] = []
        opened_at: dict[str, int] = {}  # campaign -> the hashtag's place in the post that opened it
        for r in pdf.itertuples(index=False):
            post = str(r.post)
            engine.authors[post] = Author(int(r.posts), int(r.flagged), float(r.profile), bool(r.returned),
                                          bool(r.known))
            p = PostInput(post_id=post, account=str(r.account), ts=float(r.at), hashtags=(tag,), text="",
                          text_score=float(r.text), account_created=None if pd.isna(r.created) else float(r.created),
                          fingerprint=int(r.fp) if isinstance(r.fp, str) else None)
            hits = engine.observe(p)
            for camp in engine.opened:
                opened_at[camp.id] = int(r.pos)
            engine.opened.clear()
            for camp, _ in hits:
                rows.append({"kind": "member", "tag": tag, "cid": camp.id, "id": str(r.id), "post": post,
                             "value": min(1.0, camp.score)})
            del engine.authors[post]
        for camp in [*engine.book, *engine.book.closed]:
            rows.append({"kind": "campaign", "tag": tag, "cid": camp.id, "state": json.dumps(camp.to_state()),
                         "value": float(opened_at.get(camp.id, 0))})
        return rows

    return replay


def _signals(states: dict[str, dict[str, Any]]) -> Any:
    def signals(frames: Iterator[Any]) -> Iterator[Any]:
        """Each member post's ``campaign`` signal: its campaign's (as merged), valued at the campaign's score
        when the post came."""
        import pandas as pd

        from bastion.campaigns.detector import campaign_signal

        camps = {cid: Campaign.from_state(st) for cid, st in states.items()}
        for pdf in frames:
            yield pd.DataFrame([{"id": r.id, "content": r.content, "quarantine": None, "signal": json.dumps(
                replace(campaign_signal(camps[r.mid]), value=min(1.0, float(r.value))).to_json())}
                for r in pdf.itertuples(index=False)], columns=["id", "content", "signal", "quarantine"])

    return signals


# --- campaigns in the stream ----------------------------------------------------------------------------------

#: A hashtag's state in the stream: its engine's snapshot (JSON).
STREAM_STATE = "engine string"


def campaign_stream(scored: Any, conf: str, delay: str, buckets: int) -> Any:
    """The stream's decision and quarantine rows, and the campaign stage as one stateful operator over event time.

    Each ``tagged`` row is exploded into one row per hashtag, keyed ``#hashtag`` and timed by the post, under a
    watermark ``delay`` behind the latest post seen. Each hashtag's engine (the stream's own
    :class:`~bastion.campaigns.engine.CampaignEngine`, its snapshot kept in Spark's state store) takes the
    hashtag's new posts in event-time order and says which join a campaign (``member`` rows: the decision id,
    the post's content digest, its ``campaign`` signal); when the watermark passes the hashtag's last post by
    the campaign window plus its time to live, the hashtag's campaigns close (``campaign`` rows) and its state
    is dropped. A post behind the watermark (late) is not counted in any hashtag; its decision still comes.
    Decision and quarantine rows pass through untimed, under ``buckets`` keys that hold no state (one
    operator, so the posts are read and scored once). :func:`amend_batch` turns a micro-batch's rows into its
    decisions."""
    from pyspark.sql import functions as F
    from pyspark.sql.streaming.state import GroupStateTimeout

    from bastion.spark.score import COLUMNS, SPARK_SCHEMA

    tag = F.explode_outer(F.when(F.col("kind") == "tagged", F.from_json("raw", "array<string>"))).alias("tag")
    keyed = scored.where("kind in ('decision', 'quarantine', 'tagged')").select(*COLUMNS, tag).select(
        *COLUMNS,
        F.when(F.col("kind") == "tagged", F.concat(F.lit("#"), "tag"))
        .otherwise(F.concat(F.lit("~"), F.pmod(F.hash("id", "file", "line"), F.lit(buckets)).cast("string")))
        .alias("key"),
        F.when(F.col("kind") == "tagged", F.timestamp_seconds("at")).alias("ts"))
    return keyed.withWatermark("ts", delay).groupBy("key").applyInPandasWithState(
        _stream_step(conf), SPARK_SCHEMA, STREAM_STATE, "append", GroupStateTimeout.EventTimeTimeout)


def _stream_step(conf: str) -> Any:
    def step(key: tuple[str], frames: Iterator[Any], state: Any) -> Iterator[Any]:
        import pandas as pd

        from bastion.campaigns.detector import campaign_signal
        from bastion.spark.score import COLUMNS, frame, scorer

        (k,) = key
        if not k.startswith("#"):  # decisions and quarantined lines: as they are
            for pdf in frames:
                yield pdf[list(COLUMNS)]
            return
        stage = scorer(conf).campaign
        assert stage is not None
        cfg = stage.detector.config
        engine = CampaignEngine(cfg, stage.detector.known)
        if state.exists:
            engine.restore(json.loads(state.get[0]))
        rows: list[dict[str, Any]] = []
        if state.hasTimedOut:  # the watermark passed the hashtag: its campaigns close, its state goes
            rows = [{"kind": "campaign", "id": camp.id, "decision": json.dumps(replace(camp, closed=True)
                                                                               .to_json(), sort_keys=True)}
                    for camp in [*engine.book, *engine.book.closed]]
            state.remove()
        else:
            pdf = pd.concat(list(frames)).sort_values(["at", "file", "line"])
            for r in pdf.itertuples(index=False):
                p = PostInput(post_id=str(r.record_id), account=str(r.account), ts=float(r.at), hashtags=(k[1:],),
                              text="", text_score=float(r.value),
                              fingerprint=int(r.reason) if isinstance(r.reason, str) else None)
                for camp, _ in engine.observe(p):
                    sig = campaign_signal(camp)  # valued at the campaign's score now
                    rows.append({"kind": "member", "id": str(r.id), "digest": str(r.digest), "value": sig.value,
                                 "decision": json.dumps(sig.to_json())})
            engine.opened.clear()
            state.update((json.dumps(engine.snapshot()),))
            state.setTimeoutTimestamp(int((engine.watermark + cfg.window_s + cfg.ttl_s) * 1000))
        if rows:
            yield frame(rows)

    return step


def amend_batch(rows: Any, conf: str) -> Any:
    """A micro-batch of :func:`campaign_stream`'s rows as the stream writes them: each member post decided
    again with its ``campaign`` signal (of its campaigns, the highest-scoring when it came), and the quarantine
    and closed campaign rows."""
    from pyspark.sql import functions as F

    from bastion.spark.amend import redecide

    members = rows.where("kind = 'member'").groupBy("id") \
        .agg(F.max_by(F.struct("digest", "decision"), "value").alias("m")) \
        .select("id", F.col("m.digest").alias("content"), F.col("m.decision").alias("signal"),
                F.lit(None).cast("long").alias("quarantine"))
    decided = redecide(rows.where("kind = 'decision'"), members, conf)
    others = rows.where("kind in ('quarantine', 'campaign')")
    return decided.unionByName(others, allowMissingColumns=True)
