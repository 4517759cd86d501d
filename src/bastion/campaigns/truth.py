"""Ground truth for the campaign evaluation, defined from labels and timestamps only.

**Pro-IS hashtag burst.** For a hashtag ``h`` consider only posts of class ``pro_isis`` that carry it. At
each such post (time ``t``), let ``c`` be the number of those posts in the trailing window ``(t - 60 min,
t]`` and ``b`` the hourly average of those posts over the 7 days before that window. ``h`` is *in burst* at
``t`` when ``c >= 5`` and ``c >= 3 b`` (five posts in an hour, and at least three times the hashtag's own
pro-IS baseline). A burst **starts** at the first post where that holds (the moment it becomes a burst by
this definition), and **ends** at the last post where it still holds; bursts of one hashtag less than
60 minutes apart are merged. ``first_post`` (the oldest of the ``c`` posts at the start) is kept too, for
the stricter "from the first post" delay.

The definition looks at pro-IS posts only and never at the detector, so it can be computed before the
replay and cannot be tuned by it.

**News or crisis hashtag.** A hashtag with at least 10 posts of class ``news_terror`` or ``crisis_public``
that make up at least half of its posts from classes other than ``pro_isis`` - i.e. when the public and the
press use it, they use it for news and crisis (``#CharlieHebdo``, ``#BostonMarathon``, ``#breaking``, but
not ``#isis``, whose non-IS use is mostly other talk about the group).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bastion.campaigns.clock import epoch
from bastion.campaigns.heuristics import normalize_hashtag
from bastion.campaigns.replay import ReplayItem

NEWS_CLASSES = frozenset({"news_terror", "crisis_public"})


@dataclass(frozen=True, slots=True)
class TruthSpec:
    target_class: str = "pro_isis"
    window_s: float = 3600.0
    min_posts: int = 5
    ratio: float = 3.0
    baseline_days: float = 7.0
    merge_gap_s: float = 3600.0
    news_min_posts: int = 10
    news_min_share: float = 0.5

    def describe(self) -> dict[str, Any]:
        return {
            "burst": (f"{self.target_class} posts with the hashtag in the trailing {self.window_s / 60:.0f} "
                      f"min >= {self.min_posts} and >= {self.ratio:g}x the hashtag's {self.target_class} "
                      f"hourly average over the {self.baseline_days:g} days before that window; starts at "
                      f"the first post where this holds, ends at the last; bursts < "
                      f"{self.merge_gap_s / 60:.0f} min apart merge"),
            "news_or_crisis": (f">= {self.news_min_posts} posts of {sorted(NEWS_CLASSES)} making up >= "
                               f"{self.news_min_share:.0%} of the hashtag's non-{self.target_class} posts"),
        }


@dataclass(frozen=True, slots=True)
class TruthBurst:
    tag: str
    start: float
    end: float
    first_post: float
    posts: int  # target-class posts in the window at the start
    peak: int


def truth_bursts(items: Iterable[ReplayItem], spec: TruthSpec | None = None) -> list[TruthBurst]:
    spec = spec or TruthSpec()
    times: dict[str, list[float]] = defaultdict(list)
    for it in items:
        if it.cls != spec.target_class or it.post.created_at is None:
            continue
        ts = epoch(it.post.created_at)
        for raw in dict.fromkeys(it.post.hashtags):
            tag = normalize_hashtag(raw)
            if tag:
                times[tag].append(ts)
    out: list[TruthBurst] = []
    base_hours = spec.baseline_days * 24.0
    for tag, ts_list in times.items():
        ts_list.sort()
        if len(ts_list) < spec.min_posts:
            continue
        lo = blo = 0
        current: list[float] | None = None  # [start, end, first_post, posts, peak]
        runs: list[list[float]] = []
        for i, t in enumerate(ts_list):
            while ts_list[lo] <= t - spec.window_s:
                lo += 1
            while ts_list[blo] <= t - spec.window_s - spec.baseline_days * 86400.0:
                blo += 1
            c = i - lo + 1
            base = (lo - blo) / base_hours * (spec.window_s / 3600.0)
            if c >= spec.min_posts and c >= spec.ratio * base:
                if current is None:
                    current = [t, t, ts_list[lo], float(c), float(c)]
                    runs.append(current)
                else:
                    current[1] = t
                    current[4] = max(current[4], c)
            else:
                current = None
        merged: list[list[float]] = []
        for run in runs:
            if merged and run[0] - merged[-1][1] < spec.merge_gap_s:
                merged[-1][1] = run[1]
                merged[-1][4] = max(merged[-1][4], run[4])
            else:
                merged.append(list(run))
        out += [TruthBurst(tag, r[0], r[1], r[2], int(r[3]), int(r[4])) for r in merged]
    out.sort(key=lambda b: (b.start, b.tag))
    return out


def tag_class_counts(items: Iterable[ReplayItem]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for it in items:
        for raw in dict.fromkeys(it.post.hashtags):
            tag = normalize_hashtag(raw)
            if tag:
                counts[tag][it.cls] += 1
    return counts


def news_or_crisis(counts: dict[str, Counter[str]], spec: TruthSpec | None = None) -> set[str]:
    spec = spec or TruthSpec()
    out = set()
    for tag, c in counts.items():
        news = sum(c[k] for k in NEWS_CLASSES)
        other = sum(v for k, v in c.items() if k != spec.target_class)
        if news >= spec.news_min_posts and other and news / other >= spec.news_min_share:
            out.add(tag)
    return out
