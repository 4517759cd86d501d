"""``bastion eval campaigns``: replay a labelled corpus in time order and score the campaign stage.

The replay (:mod:`bastion.campaigns.replay`) feeds every post, oldest first, through the upstream detectors
(the post-signal source: ``propaganda`` when it is installed, pluggable by name) and then the
:class:`~bastion.campaigns.detector.CampaignDetector`. Every ``tick_s`` of event time the hashtags with at
least ``trend_min_posts`` posts in the last hour are put to the trend filter as candidate trends (a stand-in
for a platform's trend service) and its decisions are recorded.

What is reported, against the ground truth of :mod:`bastion.campaigns.truth`:

* pro-IS hashtag bursts, how many were detected (the hashtag was in an open campaign at a post with that
  hashtag between the burst's start and 10 minutes after its end), and the delay from start to detection;
* every hashtag the trend filter suppressed, with the class mix of the posts in its windows at the
  suppressing ticks, and which of them are news or crisis hashtags;
* campaigns of any kind (including hijack, which never suppresses) on news or crisis hashtags, and the
  classes of the posts that got a ``campaign`` signal.

Class labels are used only here, to score; the detector sees posts without them.
"""

from __future__ import annotations

import bisect
import logging
import statistics
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

from bastion.campaigns.clock import epoch, from_epoch
from bastion.campaigns.detector import CampaignDetector
from bastion.campaigns.engine import CampaignEngine
from bastion.campaigns.heuristics import normalize_hashtag
from bastion.campaigns.replay import ReplayItem, load_replay
from bastion.campaigns.trends import SUPPRESS, TrendCandidate, TrendFilter
from bastion.campaigns.truth import TruthBurst, TruthSpec, news_or_crisis, tag_class_counts, truth_bursts
from bastion.detector import Detector, DetectorBuilder, PostContext
from bastion.errors import BastionError, ConfigError
from bastion.records import AccountId, Post, PostId

log = logging.getLogger(__name__)

DETECT_WITHIN_S = 600.0


def build_upstream(spec: str, build: DetectorBuilder | None) -> tuple[list[Detector], dict[str, str]]:
    """Upstream detectors by name (comma-separated, or ``none``); ``auto`` means ``propaganda`` if ``build`` can
    build it, else none."""
    names = ["propaganda"] if spec == "auto" else [n.strip() for n in spec.split(",") if n.strip() not in ("", "none")]
    if not names:
        return [], {}
    if build is None:
        if spec == "auto":
            return [], {"propaganda": "no detector builder given"}
        raise ConfigError(f"upstream detectors {names} need a detector builder")
    built: list[Detector] = []
    missing: dict[str, str] = {}
    probe = [PostContext(Post(id=PostId("probe"), account_id=AccountId("probe"), text="probe"))]
    for name in names:
        try:
            (det,) = build([name])
            det.detect(probe)  # models load lazily: make a missing model fail here, not mid-replay
        except BastionError as exc:
            if spec != "auto":
                raise
            missing[name] = str(exc)
            continue
        built.append(det)
    return built, missing


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _p90_minutes(values: list[float]) -> float | None:
    return round(sorted(values)[int(0.9 * (len(values) - 1))] / 60.0, 2) if values else None


def _minutes(values: list[float]) -> float | None:
    return round(statistics.median(values) / 60.0, 2) if values else None


class _Recorder:
    """What the replay remembers for scoring (label-side bookkeeping, never shown to the detector)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.coverage: dict[str, list[float]] = defaultdict(list)  # tag -> times seen inside a campaign
        self.recent: dict[str, deque[tuple[float, str, str]]] = defaultdict(deque)
        self.suppressed: dict[str, dict[str, Any]] = {}
        self.hijack_allowed: Counter[str] = Counter()
        self.candidates: set[str] = set()
        self.signal_classes: Counter[str] = Counter()
        self.signal_tag_classes: dict[str, Counter[str]] = defaultdict(Counter)
        self.ticks = 0
        self.decisions = 0

    def post(self, item: ReplayItem, ts: float, tags: list[str]) -> None:
        horizon = ts - self.window_s
        for tag in tags:
            rec = self.recent[tag]
            rec.append((ts, str(item.post.id), item.cls))
            while rec and rec[0][0] <= horizon:
                rec.popleft()

    def window_mix(self, tag: str, at: float) -> list[tuple[str, str]]:
        horizon = at - self.window_s
        return [(pid, cls) for t, pid, cls in self.recent.get(tag, ()) if t > horizon]


def evaluate(path: str, *, upstream: str = "auto", build: DetectorBuilder | None = None, tick_s: float = 300.0,
             trend_min_posts: int = 5, detector_options: Mapping[str, Any] | None = None,
             truth: TruthSpec | None = None, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    truth = truth or TruthSpec()
    items, replay_info = load_replay(path)
    counts = tag_class_counts(items)
    news = news_or_crisis(counts, truth)
    bursts = truth_bursts(items, truth)
    upstream_dets, missing = build_upstream(upstream, build)
    detector = CampaignDetector(**dict(detector_options or {}))
    engine = detector.engine
    tfilter = detector.trend_filter()
    rec = _Recorder(detector.config.window_s)
    next_tick = 0.0
    batch = 512
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        ctxs = [PostContext(it.post, it.author) for it in chunk]
        for det in upstream_dets:
            for ctx, sigs in zip(ctxs, det.detect(ctxs), strict=True):
                for sig in sigs:
                    ctx.signals[sig.name] = sig
        for it, ctx in zip(chunk, ctxs, strict=True):
            ts = epoch(it.post.created_at) if it.post.created_at else engine.watermark
            if ts >= next_tick:
                boundary = ts - ts % tick_s
                if next_tick:
                    _tick(tfilter, engine, rec, boundary, trend_min_posts)
                next_tick = boundary + tick_s
            tags = [t for t in (normalize_hashtag(h) for h in it.post.hashtags) if t]
            sigs = detector.detect([ctx])[0]
            if sigs:
                rec.signal_classes[it.cls] += 1
                details = sigs[0].details
                for tag in set(tags) & {*details.get("hashtags", ()), *details.get("hijacked", ())}:
                    rec.signal_tag_classes[tag][it.cls] += 1
            rec.post(it, ts, tags)
            for tag in tags:
                if engine.book.for_tag(tag, ts) is not None:
                    rec.coverage[tag].append(ts)
        if progress is not None:
            progress(min(start + batch, len(items)), len(items))
    elapsed = time.perf_counter() - started
    return _report(path, items, replay_info, bursts, news, rec, detector, upstream_dets, missing,
                   truth, elapsed, tick_s, trend_min_posts)


def _tick(tfilter: TrendFilter, engine: CampaignEngine, rec: _Recorder, at: float, min_posts: int) -> None:
    rec.ticks += 1
    for tag, _n in engine.trending(at, min_posts):
        rec.candidates.add(tag)
        decision = tfilter.decide(TrendCandidate(tag), at)
        rec.decisions += 1
        if decision.action == SUPPRESS:
            entry = rec.suppressed.setdefault(tag, {"first": at, "ticks": 0, "posts": {}, "reasons": []})
            entry["ticks"] += 1
            for pid, cls in rec.window_mix(tag, at):
                entry["posts"][pid] = cls
            for r in decision.reasons[:3]:
                if r not in entry["reasons"] and len(entry["reasons"]) < 6:
                    entry["reasons"].append(r)
        elif decision.campaign_id is not None:
            rec.hijack_allowed[tag] += 1


def _detection(bursts: list[TruthBurst], coverage: dict[str, list[float]]) -> list[float | None]:
    delays: list[float | None] = []
    for b in bursts:
        times = coverage.get(b.tag, [])
        i = bisect.bisect_left(times, b.start)
        if i < len(times) and times[i] <= b.end + DETECT_WITHIN_S:
            delays.append(times[i] - b.start)
        else:
            delays.append(None)
    return delays


def _covered_at(times: list[float], at: float) -> bool:
    i = bisect.bisect_left(times, at)
    return i < len(times) and times[i] == at


def _report(path: str, items: list[ReplayItem], replay_info: dict[str, Any], bursts: list[TruthBurst],
            news: set[str], rec: _Recorder, detector: CampaignDetector,
            upstream: list[Detector], missing: dict[str, str], truth: TruthSpec, elapsed: float,
            tick_s: float, trend_min_posts: int) -> dict[str, Any]:
    delays = _detection(bursts, rec.coverage)
    found = [d for d in delays if d is not None]
    within = [d for d in found if d <= DETECT_WITHIN_S]
    already = sum(1 for b, d in zip(bursts, delays, strict=True)
                  if d is not None and _covered_at(rec.coverage.get(b.tag, []), b.first_post))
    from_first = [d + (b.start - b.first_post) for b, d in zip(bursts, delays, strict=True) if d is not None]
    missed = [{"hashtag": b.tag, "start": from_epoch(b.start).isoformat(), "posts": b.posts, "peak": b.peak}
              for b, d in zip(bursts, delays, strict=True) if d is None or d > DETECT_WITHIN_S]
    suppressed = []
    for tag, entry in sorted(rec.suppressed.items(), key=lambda kv: kv[1]["first"]):
        mix = Counter(entry["posts"].values())
        suppressed.append({"hashtag": tag, "class_mix": dict(mix.most_common()), "ticks": entry["ticks"],
                           "first_suppressed": from_epoch(entry["first"]).isoformat(),
                           "news_or_crisis": tag in news, "reasons": entry["reasons"]})
    campaigns = detector.campaigns()
    camp_tags = {t for c in campaigns for t in (*c["hashtags"], *c["hijacked"])}
    on_news: dict[str, dict[str, Any]] = {}
    for c in campaigns:
        for t in (*c["hashtags"], *c["hijacked"]):
            if t in news:
                entry = on_news.setdefault(t, {"hashtag": t, "barrage_in": 0, "hijack_in": 0, "suppressed": False,
                                               "signalled_posts": dict(rec.signal_tag_classes[t].most_common())})
                entry["barrage_in" if t in c["hashtags"] else "hijack_in"] += 1
                entry["suppressed"] = t in rec.suppressed
    signal_total = sum(rec.signal_classes.values())
    target_posts = sum(1 for it in items if it.cls == truth.target_class)
    return {
        "data": path,
        "bursts": {
            truth.target_class: len(bursts), "detected": len(within), "detected_any": len(found),
            "detected_share": round(len(within) / len(bursts), 4) if bursts else None,
            "median_minutes_to_detect": _minutes(found),
            "p90_minutes_to_detect": _p90_minutes(found),
            "median_minutes_from_first_post": _minutes(from_first),
            "at_start": sum(1 for d in found if d == 0.0),
            "campaign_open_at_first_post": already,
            "hashtags": len({b.tag for b in bursts}), "missed": missed[:50],
        },
        "suppressed": suppressed,
        "suppressed_news_or_crisis": sorted(t for t in rec.suppressed if t in news),
        "news_or_crisis": {
            "hashtags": len(news), "trended": sorted(news & rec.candidates),
            "campaigns_on": [on_news[t] for t in sorted(on_news)],
            "hijack_allowed": sorted(t for t in rec.hijack_allowed if t in news),
        },
        "trends": {"ticks": rec.ticks, "tick_s": tick_s, "candidate_min_posts": trend_min_posts,
                   "decisions": rec.decisions, "candidate_hashtags": len(rec.candidates),
                   "suppressed_hashtags": len(rec.suppressed),
                   "hijacked_allowed": dict(rec.hijack_allowed.most_common(20))},
        "campaigns": {
            "total": len(campaigns), "barrage": sum(1 for c in campaigns if c["hashtags"]),
            "hijack_only": sum(1 for c in campaigns if not c["hashtags"]),
            "hashtags": len(camp_tags),
            "largest": [{k: c[k] for k in ("id", "hashtags", "hijacked", "posts", "score")}
                        | {"accounts": len(c["participants"])}
                        for c in sorted(campaigns, key=lambda c: -c["posts"])[:10]],
        },
        "campaign_signal_posts": {
            "by_class": dict(rec.signal_classes.most_common()), "total": signal_total,
            "target_share": _ratio(rec.signal_classes[truth.target_class], signal_total),
            "target_recall": _ratio(rec.signal_classes[truth.target_class], target_posts),
        },
        "ground_truth": truth.describe() | {"detected": (
            "the hashtag is in an open campaign at a post carrying it, between the burst's start and 10 "
            "minutes after its end; 'detected' counts those within 10 minutes of the start, "
            "'detected_any' all")},
        "scorer": {"upstream": [d.name for d in upstream], "unavailable": missing,
                   "text_score": "propaganda signal" if any(d.name == "propaganda" for d in upstream)
                   else "own heuristic (bastion.campaigns.heuristics)"},
        "replay": replay_info,
        "config": detector.describe_config(),
        "elapsed_s": round(elapsed, 1),
        "posts_per_s": round(len(items) / elapsed, 1) if elapsed else None,
    }
