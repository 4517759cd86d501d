"""Coordinated hashtag campaigns on Spark's own operators: the ``campaign`` detector's engine, partitioned by
hashtag, given per post what depends on other posts and hashtags.

The tasks emit, beside each post's decision, the post's hashtags, text score and near-duplicate fingerprint
(``tagged`` rows, ``untagged`` for a post without hashtags), each account record's profile score and creation
time (``author``) and each suspension or reinstatement (``enforced``) (:class:`bastion.spark.score.CampaignRows`).
The detector takes posts in the order read, so the stage does too (file, line). Then:

    posts ──running max by blocks──▶ each post's time as the detector's clock gives it (:func:`clock_times`)
    their times, in order, on the driver ──▶ where the detector keeps house (:func:`housekeeping`)
    posts ──lag per fingerprint band, pointer jumping, window per cluster──▶ near-duplicates (:func:`near_duplicates`)
    posts + enforced ──window(account)──▶ the author's history at each post: posts, flagged, returned
    ⋈ author ──explode(hashtag)──▶ observations ──window(2h, slide 1h)──▶ hashtags with min_flagged flagged posts
    observations of those hashtags ──groupBy(hashtag)──▶ the stream's CampaignEngine, one hashtag's posts in the
        order read, keeping house on the schedule ──▶ each hashtag's campaigns and the posts they take in
    driver: hashtags' campaigns that share participants while open ──▶ one campaign (the engine's ``overlapping``)
    campaigns ──joins──▶ hints for each (post, hashtag) (:func:`_hints`): another hashtag's campaign open when
        it came, its author a participant elsewhere before it, the merged campaign re-scored at it
        ──▶ the hashtags whose hints changed, replayed; again until none changes (at most MAX_ROUNDS)
    members ──▶ amendments: each post's ``campaign`` signal (:mod:`bastion.spark.amend` decides them again)

The burst test, the baselines, the suspicion score and the evidence score are the engine's own code
(:func:`bastion.campaigns.engine.suspicion`, :func:`~bastion.campaigns.engine.evidence`); sliding event-time
windows of twice the campaign window, sliding by one window, contain every span of one window, so no hashtag
that could burst is pruned. On 20,000 tvec-dev posts this gives the detector's decisions and scores exactly
(``bench/spark_parity.py``).

Differences from ``bastion scan --detectors ...,campaign`` that remain, by design: reposts do not carry a
high-risk account's risk (amplification); the author's risk is the stage's own estimate (history and profile;
Spark's post decisions carry no ``account_risk`` signal); "returned" holds at a post when the author's last
suspension read before it is older than it (the detector keeps it until the next suspension); a hint comes
from the campaigns at the end of a round, so a campaign's span on another hashtag ends at its last post plus
``ttl_s`` or at the housekeeping run that closes it; and a post's signal lists the campaign's hashtags at the
end of the run (its value is the merged campaign's score when the post came). The campaign signal re-decides a
post; it does not add to the author's strikes in the account stage.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bastion.campaigns.campaign import Campaign, CampaignBook
from bastion.campaigns.engine import MAX_REASONS, CampaignConfig, CampaignEngine, PostInput, suspicion
from bastion.campaigns.heuristics import KnownHashtags
from bastion.spark.amend import AMEND_SCHEMA
from bastion.spark.grouped import per_key

REPLAY_SCHEMA = ("kind string, tag string, cid string, state string, id string, post string, value double, "
                 "at double, file string, line long, account string, pos long, joins long, opens boolean")
#: What one round tells the next about a (post, hashtag) row, from every hashtag's engine
HINTS = "id string, tag string, cooc boolean, joined boolean, refresh boolean"
#: Rounds after the first in which what other hashtags' campaigns tell a hashtag's posts (:func:`_hints`) is
#: fed back: each replays only the hashtags whose posts it changed, and the stage stops when one changes none
MAX_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class Facts:
    """What Spark computed about a post and its author at the post's time, over every post and hashtag."""

    posts: int
    flagged: int
    profile: float
    returned: bool
    known: bool  # the post carries a known extremist hashtag (any of its hashtags)
    dup: bool  # it repeats a recent post of another account (:func:`near_duplicates`, over all posts)
    cooc: bool  # another of its hashtags had an open campaign when it came (the last round's campaigns)
    joined: bool  # its author had taken part in a campaign on another hashtag before it (the last round's)
    refresh: bool  # joining its campaign makes the merged campaign's post count a multiple of refresh_every


class TagEngine(CampaignEngine):
    """The stream's engine for one hashtag's posts, with what depends on other posts and hashtags (the author's
    history, near-duplicates, campaigns on the post's other hashtags) given per post instead of kept in its
    own books."""

    def __init__(self, config: CampaignConfig, known: KnownHashtags) -> None:
        super().__init__(config, known)
        self.facts: dict[str, Facts] = {}
        self._next_maintenance = math.inf  # housekeeping runs on the whole stream's schedule (the caller's)
        self.joined: list[str] = []  # accounts that became a campaign's participants (the caller drains it)

    def suspicion(self, p: PostInput) -> tuple[float, int]:
        a = self.facts[p.post_id]
        st = self.accounts.touch(p.account)  # kept here: the campaigns this account joined on this hashtag
        st.posts, st.flagged, st.profile = a.posts, a.flagged, a.profile
        st.campaigns = max(st.campaigns, int(a.joined))
        return suspicion(self.config, p, risk=st.risk(self.config.participant_risk), returned=a.returned,
                         known=a.known, in_campaign=a.cooc or self.book.for_tag(p.hashtags[0], p.ts) is not None)

    def _near_dup(self, p: PostInput) -> bool:
        return self.facts[p.post_id].dup

    def _refresh_due(self, camp: Campaign, p: PostInput) -> bool:
        return self.facts[p.post_id].refresh

    def maintain(self, at: float) -> None:
        super().maintain(at)
        self._next_maintenance = math.inf

    def _join(self, camp: Campaign, post_id: str, account: str, ts: float) -> None:
        before = self.accounts.touch(account).campaigns
        super()._join(camp, post_id, account, ts)
        if self.accounts.touch(account).campaigns > before:
            self.joined.append(account)


def campaign_stage(spark: Any, scored: Any, conf: str) -> tuple[Any, list[Campaign]]:
    """The amendments (:mod:`bastion.spark.amend`: each campaign post's ``campaign`` signal) and the campaigns."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from bastion.spark.score import scorer

    stage = scorer(conf).campaign
    assert stage is not None
    cfg = stage.detector.config
    posted = clock_times(spark, scored.where("kind in ('tagged', 'untagged')").dropDuplicates(["id"]))
    order = F.struct("file", "line")
    authors = scored.where("kind = 'author'").groupBy("account") \
        .agg(F.max_by(F.struct("value", "at"), order).alias("p")) \
        .select("account", F.col("p.value").alias("profile"), F.col("p.at").alias("created"))
    # one timeline per account, in the order read: its posts and its suspensions
    timeline = posted.select("account", "at", "file", "line", "id", F.lit(1).alias("is_post"),
                             (F.col("value") >= cfg.flag_threshold).cast("int").alias("flag"),
                             F.lit(None).alias("enf")) \
        .unionByName(scored.where("kind = 'enforced'").select(
            "account", "at", "file", "line", F.lit(None).cast("string").alias("id"), F.lit(0).alias("is_post"),
            F.lit(0).alias("flag"), F.struct(F.col("value").alias("kind"), "at").alias("enf")))
    so_far = Window.partitionBy("account").orderBy("file", "line") \
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    history = timeline.select("id", "at", F.sum("is_post").over(so_far).alias("posts"),
                              F.sum("flag").over(so_far).alias("flagged"),
                              F.last("enf", ignorenulls=True).over(so_far).alias("enf"), "is_post") \
        .where("is_post = 1").select("id", "posts", "flagged", F.coalesce(
            (F.col("enf.kind") == 1) & (F.col("at") >= F.col("enf.at")), F.lit(False)).alias("returned"))
    schedule = housekeeping(spark, posted, cfg)
    dups = near_duplicates(sweeps(spark, posted, schedule), cfg)
    obs = posted.where("kind = 'tagged'").join(history, "id").join(authors, "account", "left") \
        .join(dups, "id", "left") \
        .select("id", F.col("record_id").alias("post"), "account", "at", "file", "line",
                F.col("value").alias("text"), (F.col("field") == "known").alias("known"),
                F.col("digest").alias("content"), "posts", "flagged", "returned",
                F.coalesce("profile", F.lit(0.0)).alias("profile"), "created", F.col("dup").isNotNull().alias("dup"),
                F.posexplode(F.from_json("raw", "array<string>")).alias("pos", "tag")).persist()
    try:
        # could this post be flagged? (a superset of the engine's test; the engine decides)
        maybe = (F.col("text") >= cfg.flag_threshold) | F.col("known") | (F.col("profile") >= cfg.flag_threshold) \
            | (F.col("flagged") > 0)
        span = f"{int(2 * cfg.window_s)} seconds"
        candidates = obs.groupBy("tag", F.window(F.timestamp_seconds("at"), span, f"{int(cfg.window_s)} seconds")) \
            .agg(F.sum(maybe.cast("int")).alias("n")).where(F.col("n") >= cfg.min_flagged).select("tag").distinct()
        watched = obs.join(candidates, "tag", "left_semi")
        replayed, campaigns, merged_into = _rounds(spark, watched, conf, cfg, schedule)
        if not campaigns:
            return spark.createDataFrame([], AMEND_SCHEMA), []
        states = {c.id: public(c).to_state() for c in campaigns}
        ids = spark.createDataFrame([(cid, mid) for cid, mid in merged_into.items()], "cid string, mid string")
        # a merged campaign's score when a post came: the highest of its hashtags' scores by then, in the order read
        by_then = Window.partitionBy("mid").orderBy("file", "line") \
            .rowsBetween(Window.unboundedPreceding, Window.currentRow)
        members = replayed.where("kind = 'member'").join(F.broadcast(ids), "cid") \
            .select("id", "mid", F.max("value").over(by_then).alias("value")) \
            .groupBy("id").agg(F.max_by(F.struct("mid", "value"), "value").alias("m")) \
            .select("id", F.col("m.mid").alias("mid"), F.col("m.value").alias("value"))
        content = obs.select("id", "content").dropDuplicates(["id"])
        amendments = members.join(content, "id").mapInPandas(_signals(states), AMEND_SCHEMA).localCheckpoint()
        return amendments, [public(c) for c in campaigns]
    finally:
        obs.unpersist()


def _rounds(spark: Any, watched: Any, conf: str, cfg: CampaignConfig,
            schedule: list[tuple[str, int, float]]) -> tuple[Any, list[Campaign], dict[str, str]]:
    """Each watched hashtag's engine over its posts, then again for the hashtags whose posts' hints (:func:`_hints`:
    what the other hashtags' campaigns tell them) the last round changed, until none changes (at most
    :data:`MAX_ROUNDS` more). Returns the engines' rows, the campaigns merged across hashtags (:func:`merge`)
    and each hashtag campaign's merged id."""

    hints = spark.createDataFrame([], HINTS)  # the rows with a hint (cooc or joined) from the last round
    todo = watched
    replayed = None
    for round_ in range(MAX_ROUNDS + 1):
        fresh = per_key(todo.join(hints, ["id", "tag"], "left").fillna(False, ["cooc", "joined", "refresh"]),
                        "tag", ["file", "line"], _replay(conf, schedule), REPLAY_SCHEMA)
        replayed = (fresh if replayed is None else
                    replayed.join(todo.select("tag").distinct(), "tag", "left_anti").unionByName(fresh)) \
            .localCheckpoint()
        found = replayed.where("kind = 'campaign'").select("tag", "cid", "state", "value", "at", "file", "line") \
            .collect()
        campaigns, merged_into = merge([(Campaign.from_state(json.loads(r["state"])),
                                         (r["file"], r["line"], r["value"])) for r in found], cfg)
        if round_ == MAX_ROUNDS or not found:
            break
        now = _hints(spark, watched, replayed, found, campaigns, merged_into, cfg, schedule).localCheckpoint()
        flipped = now.subtract(hints).unionByName(hints.subtract(now))
        todo = watched.join(flipped.select("tag").distinct(), "tag", "left_semi")
        hints = now
        if flipped.isEmpty():
            break
    assert replayed is not None
    return replayed, campaigns, merged_into


def _hints(spark: Any, watched: Any, replayed: Any, found: list[Any], campaigns: list[Campaign],
           merged_into: dict[str, str], cfg: CampaignConfig, schedule: list[tuple[str, int, float]]) -> Any:
    """What a round's campaigns tell the next about each (post, hashtag) row (:data:`HINTS`, the rows with a
    hint): ``cooc`` when a campaign was open on another of the post's hashtags when it came (from the
    post that opened it on that hashtag until ``ttl_s`` after the merged campaign's last post), ``joined``
    when its author had become a participant of a campaign on any hashtag before it, ``refresh`` when its
    joining a campaign brings the merged campaign's posts (all its hashtags' joins, in the order read) to a
    multiple of ``refresh_every``, where the detector re-scores the hashtag it came by."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    last_seen = {c.id: c.last_seen for c in campaigns}
    rows = []
    for r in found:  # open from the post that opened it until the housekeeping run that closes it, if one does
        until = last_seen[merged_into[r["cid"]]] + cfg.ttl_s
        closes = next((run for run in schedule if run[:2] > (r["file"], r["line"]) and run[2] > until), None)
        rows.append((r["tag"], r["file"], r["line"], until, *(closes[:2] if closes else (None, None))))
    spans = spark.createDataFrame(rows, "tag string, file string, line long, until double, end_file string, "
                                        "end_line long")
    read = F.struct("w.file", "w.line")
    open_then = (F.col("w.tag") == F.col("s.tag")) & (F.col("w.at") <= F.col("s.until")) \
        & (read > F.struct("s.file", "s.line")) \
        & (F.col("s.end_file").isNull() | (read < F.struct("s.end_file", "s.end_line")))
    spanned = watched.alias("w").join(F.broadcast(spans).alias("s"), open_then) \
        .groupBy(F.col("w.id").alias("id")).agg(F.min("w.tag").alias("lo"), F.max("w.tag").alias("hi"))
    first = replayed.where("kind = 'joined'").groupBy("account") \
        .agg(F.min(F.struct("file", "line")).alias("first"))
    ids = spark.createDataFrame(list(merged_into.items()), "cid string, mid string")
    so_far = Window.partitionBy("mid").orderBy("file", "line", "pos") \
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    due = replayed.where("kind = 'member'").join(F.broadcast(ids), "cid") \
        .select("id", "tag", "opens", (F.sum("joins").over(so_far) % cfg.refresh_every == 0).alias("refresh")) \
        .where("refresh and not opens").select("id", "tag", "refresh")
    return watched.alias("w").join(spanned, "id", "left").join(first.alias("j"), "account", "left") \
        .join(due, ["id", "tag"], "left").select(
            "id", "tag", F.coalesce((F.col("lo") != F.col("tag")) | (F.col("hi") != F.col("tag")), F.lit(False))
            .alias("cooc"), F.coalesce(read > F.col("j.first"), F.lit(False)).alias("joined"),
            F.coalesce("refresh", F.lit(False)).alias("refresh")).where("cooc or joined or refresh")


def housekeeping(spark: Any, posted: Any, cfg: CampaignConfig) -> list[tuple[str, int, float]]:
    """Where the ``campaign`` detector's engine keeps house (:meth:`CampaignEngine.maintain`: campaigns silent
    for ``ttl_s`` close, idle hashtags are forgotten) over these posts: ``(file, line, time)`` of each post
    that runs it, the first with a time at least ``maintenance_s`` after the last run's once
    ``maintenance_posts`` posts have come since. Each hashtag's engine keeps house at the same places, so a
    campaign closes for it when it closes in the detector.

    The schedule is sequential over every post's time in the order read, so it is made on the driver from
    one column (8 bytes a post, sorted with NumPy) and is one entry per ``maintenance_posts`` posts at most."""
    import numpy as np
    from pyspark.sql import functions as F

    files = sorted(r["file"] for r in posted.select("file").distinct().collect())
    index = spark.createDataFrame(list(enumerate(files)), "f int, file string")
    table = posted.join(F.broadcast(index), "file").select("f", "line", "at").toArrow()
    f, line, at = (table.column(c).to_numpy() for c in ("f", "line", "at"))
    order = np.lexsort((line, f))
    f, line, at = f[order], line[order], at[order]
    out: list[tuple[str, int, float]] = []
    i, bound, chunk = cfg.maintenance_posts - 1, 0.0, 4096
    while i < len(at):
        hit = np.flatnonzero(at[i:i + chunk] >= bound)
        if not hit.size:
            i += chunk
            continue
        j = i + int(hit[0])
        out.append((files[int(f[j])], int(line[j]), float(at[j])))
        bound, i = float(at[j]) + cfg.maintenance_s, j + cfg.maintenance_posts
    return out


def sweeps(spark: Any, posted: Any, schedule: list[tuple[str, int, float]]) -> Any:
    """``posted`` with, for each post, ``sweep``: how many housekeeping runs of the detector's engine
    (:func:`housekeeping`) came at or before it (one runs before its post is taken in), and ``swept``: the
    time of the last (null before the first). By blocks of lines, as :func:`clock_times`."""
    import bisect

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    block = F.floor(F.col("line") / CLOCK_BLOCK).alias("block")
    prior = [(f, b, n) for f, b in (tuple(r) for r in posted.select("file", block).distinct().collect())
             for n in [bisect.bisect_left(schedule, (f, b * CLOCK_BLOCK, -math.inf))]]
    points = spark.createDataFrame([(f, line, i + 1) for i, (f, line, _) in enumerate(schedule)],
                                   "file string, line long, run int")
    times = spark.createDataFrame([(0, None)] + [(i + 1, t) for i, (_, _, t) in enumerate(schedule)],
                                  "sweep int, swept double")
    so_far = Window.partitionBy("file", "block").orderBy("line") \
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    return posted.select("*", block) \
        .join(F.broadcast(spark.createDataFrame(prior, "file string, block long, before int")), ["file", "block"]) \
        .join(F.broadcast(points), ["file", "line"], "left") \
        .select(*posted.columns, F.coalesce(F.max("run").over(so_far), "before").alias("sweep")) \
        .join(F.broadcast(times), "sweep")


#: Lines per block when the clock's running maximum is computed (one driver row per block)
CLOCK_BLOCK = 100_000


def clock_times(spark: Any, posted: Any) -> Any:
    """``posted`` with each post's time (``at``) as the ``campaign`` detector's clock gives it
    (:class:`~bastion.campaigns.clock.EventClock`), in the order the posts were read (file, line): the post's
    own time (``date`` is set), else the latest own time of a post read before it, else the run's time.

    A running maximum by blocks of :data:`CLOCK_BLOCK` lines: each block's maximum goes to the driver (one row
    per block), which gives each block the maximum of the blocks before it; within a block, a window."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    block = F.floor(F.col("line") / CLOCK_BLOCK).alias("block")
    own = F.when(F.col("date").isNotNull(), F.col("at"))
    maxima = {(r["file"], r["block"]): r["m"]
              for r in posted.groupBy("file", block).agg(F.max(own).alias("m")).collect()}
    before: float | None = None
    prior = []
    for key in sorted(maxima):
        prior.append((*key, before))
        if maxima[key] is not None:
            before = maxima[key] if before is None else max(before, maxima[key])
    so_far = Window.partitionBy("file", "block").orderBy("line") \
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    clock = F.coalesce(own, F.greatest(F.max(own).over(so_far), F.col("before")), F.col("at"))
    return posted.select("*", block).join(
        F.broadcast(spark.createDataFrame(prior, "file string, block long, before double")), ["file", "block"]) \
        .select(*[clock.alias("at") if c == "at" else c for c in posted.columns])


def near_duplicates(posted: Any, cfg: CampaignConfig) -> Any:
    """The ids of the posts the detector's near-duplicate index (:class:`bastion.campaigns.neardup.NearDupIndex`)
    marks as repeating a recent post of another account, over every post in event time, by joins:

    * each post's parent is, in band order, the latest earlier post with the same band of the fingerprint, if
      within ``cluster_horizon_s`` and ``dup_distance`` bits (the index's table holds the latest post per band
      value, and a post joins the first band's cluster that matches): a window ``lag`` per band value;
    * its cluster is its parent's: the root of its parent chain, by pointer jumping (one join per doubling);
    * it repeats when its cluster's previous post is within ``window_s`` and the cluster so far has a post by
      another account.

    One difference, documented: the detector forgets a cluster's accounts after ``cluster_horizon_s`` without
    a post (housekeeping), this does not."""
    from decimal import Decimal

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    bands = cfg.dup_distance + 1
    width = 64 // bands
    unsigned = F.col("reason").cast("decimal(20,0)")
    signed = F.when(unsigned >= Decimal(2 ** 63), unsigned - Decimal(2 ** 64)).otherwise(unsigned).cast("long")
    prints = posted.where("reason is not null").select("id", "account", "at", "file", "line", "sweep", "swept",
                                                       signed.alias("fp"))
    keys = F.explode(F.array(*[F.struct(F.lit(i).alias("band"),
                                        F.shiftright("fp", i * width).bitwiseAND((1 << width) - 1).alias("value"))
                               for i in range(bands)])).alias("key")
    in_order = ["file", "line"]
    by_key = Window.partitionBy("key.band", "key.value").orderBy(*in_order)
    before = prints.select("id", "fp", "at", "sweep", "swept", *in_order, keys).select(
        "id", "fp", "at", "sweep", "swept", F.col("key.band").alias("band"), F.lag("id").over(by_key).alias("pid"),
        F.lag("fp").over(by_key).alias("pfp"), F.lag("at").over(by_key).alias("pat"),
        F.lag("sweep").over(by_key).alias("psweep"))
    # the index forgets a band's last post when housekeeping runs more than the horizon after it
    kept = (F.col("sweep") == F.col("psweep")) | (F.col("swept") - F.col("pat") <= cfg.cluster_horizon_s)
    near = (F.col("at") - F.col("pat") <= cfg.cluster_horizon_s) & kept \
        & (F.bit_count(F.col("fp").bitwiseXOR(F.col("pfp"))) <= cfg.dup_distance)
    links = before.where(near).groupBy("id").agg(F.min_by("pid", "band").alias("up")).localCheckpoint()
    while True:  # each round points every post at its parent's parent, until all point at a root
        step = links.alias("a").join(links.alias("b"), F.col("a.up") == F.col("b.id"), "left") \
            .select(F.col("a.id").alias("id"), F.coalesce("b.up", "a.up").alias("up"),
                    F.col("b.up").isNotNull().alias("moved")).localCheckpoint()
        links = step.select("id", "up")
        if step.where("moved").isEmpty():
            break
    clusters = prints.join(links, "id", "left").select("*", F.coalesce("up", "id").alias("cluster"))
    # a cluster's accounts are forgotten when housekeeping runs more than the horizon after its last post
    in_cluster = Window.partitionBy("cluster").orderBy(*in_order)
    forgot = (F.lag("sweep").over(in_cluster) < F.col("sweep")) \
        & (F.col("swept") - F.lag("at").over(in_cluster) > cfg.cluster_horizon_s)
    spans = clusters.select("*", F.coalesce(forgot, F.lit(False)).cast("int").alias("forgot")).select(
        "*", F.sum("forgot").over(in_cluster.rowsBetween(Window.unboundedPreceding, Window.currentRow))
        .alias("span"))
    so_far = Window.partitionBy("cluster", "span").orderBy(*in_order)
    running = so_far.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    repeats = (F.col("at") - F.lag("at").over(so_far) <= cfg.window_s) \
        & ((F.min("account").over(running) != F.col("account")) | (F.max("account").over(running) != F.col("account")))
    return spans.select("id", repeats.alias("dup")).where("dup")


#: Marks a campaign that opened again on a hashtag with the same id (a campaign's id is its hashtag and start,
#: and posts without a time share one): the stage keeps them apart, its output names both by the id
REOPENED = "~"


def public(camp: Campaign) -> Campaign:
    """The campaign under its own id (:data:`REOPENED`)."""
    return replace(camp, id=camp.id.split(REOPENED)[0])


def merge(per_tag: Sequence[tuple[Campaign, tuple[Any, ...]]],
          cfg: CampaignConfig) -> tuple[list[Campaign], dict[str, str]]:
    """Hashtags' campaigns as the stream's book joins them: in the order they were detected (``(campaign,
    where it was detected)``: the post that opened it, in the order read, and the hashtag's place in that
    post), one that shares participants with a campaign still open then (within ``ttl_s`` of its last post)
    joins it. Returns the campaigns and, for each hashtag campaign's id, the id of the campaign it is part of."""
    book = CampaignBook(cfg.ttl_s)
    merged_into: dict[str, str] = {}
    for c, _ in sorted(per_tag, key=lambda x: (x[1], x[0].id)):
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


def _replay(conf: str, schedule: list[tuple[str, int, float]]) -> Any:
    def replay(pdf: Any) -> list[dict[str, Any]]:
        """One hashtag's posts, in the order read (``pdf`` is sorted so), through its own engine, which keeps
        house where the whole stream's engine does (``schedule``: :func:`housekeeping`)."""
        import bisect

        import pandas as pd

        from bastion.spark.score import scorer

        stage = scorer(conf).campaign
        assert stage is not None
        engine = TagEngine(stage.detector.config, stage.detector.known)
        tag = str(pdf["tag"].iloc[0])
        rows: list[dict[str, Any]] = []
        opened_at: dict[str, dict[str, Any]] = {}  # campaign -> the post that opened it, and the hashtag's place
        counted: dict[int, int] = {}  # campaign -> its posts at its last member row
        keys: dict[int, str] = {}  # campaign -> its id here (its id, and a count when it opens again)
        reopened: dict[str, int] = {}  # campaign id -> times opened
        first = pdf.iloc[0]
        due = bisect.bisect_left(schedule, (first["file"], int(first["line"]), -math.inf))
        for r in pdf.itertuples(index=False):
            while due < len(schedule) and schedule[due][:2] <= (r.file, r.line):
                engine.maintain(schedule[due][2])
                due += 1
            post = str(r.post)
            engine.facts[post] = Facts(int(r.posts), int(r.flagged), float(r.profile), bool(r.returned),
                                       bool(r.known), bool(r.dup), bool(r.cooc), bool(r.joined), bool(r.refresh))
            p = PostInput(post_id=post, account=str(r.account), ts=float(r.at), hashtags=(tag,), text="",
                          text_score=float(r.text), account_created=None if pd.isna(r.created) else float(r.created))
            hits = engine.observe(p)
            opens = {id(camp) for camp in engine.opened}
            for camp in engine.opened:
                key = keys[id(camp)] = f"{camp.id}{REOPENED}{reopened[camp.id]}" if camp.id in reopened else camp.id
                reopened[camp.id] = reopened.get(camp.id, 0) + 1
                opened_at[key] = {"value": float(r.pos), "at": float(r.at), "file": r.file, "line": int(r.line)}
            engine.opened.clear()
            rows.extend({"kind": "joined", "tag": tag, "account": account, "at": float(r.at), "file": r.file,
                         "line": int(r.line)} for account in engine.joined)
            engine.joined.clear()
            for camp, _ in hits:  # joins: how many posts the campaign took in with this one (all its own on opening)
                rows.append({"kind": "member", "tag": tag, "cid": keys[id(camp)], "id": str(r.id), "post": post,
                             "value": min(1.0, camp.score), "file": r.file, "line": int(r.line), "pos": int(r.pos),
                             "joins": camp.posts - counted.get(id(camp), 0), "opens": id(camp) in opens})
                counted[id(camp)] = camp.posts
            del engine.facts[post]
        for camp in [*engine.book, *engine.book.closed]:
            key = keys[id(camp)]
            rows.append({"kind": "campaign", "tag": tag, "cid": key, "state": json.dumps(replace(camp, id=key)
                                                                                       .to_state()),
                         **opened_at[key]})
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
