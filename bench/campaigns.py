"""Throughput of the campaign stage's window counters (target: >= 100,000 posts/s on one core).

    .venv/bin/python bench/campaigns.py [--posts 1000000] [--repeat 3] [--json bench/results/campaigns-bench.json]

A synthetic stream stands in for a platform's firehose: posts 20 ms apart in event time, each carrying
1-3 hashtags, 5% of posts flagged, in two hashtag distributions (see :func:`stream`): ``long_tail`` (Zipf(1)
over 50,000 hashtags, nearly all of which occur) and ``concentrated`` (about two thousand hashtags). Figures:

* ``window_counters_<distribution>``: :meth:`KeyedWindows.add_post` for every post (one window per hashtag,
  the call the stage makes) - the
  per-hashtag sliding windows and lagged baselines the stage keeps (the benchmark the target is about);
* ``window_counters_with_burst_test_<distribution>``: the same plus the Poisson burst test wherever the
  flagged count reaches the floor (what the stage runs per post before anything expensive);
* ``engine_observe``: the whole per-post update of :class:`CampaignEngine` (accounts, near-duplicate
  SimHash, windows, bursts, campaigns) on short synthetic texts, for context.

The process is pinned to one CPU where the OS allows it; inputs are generated before timing starts; each
figure is the median of ``--repeat`` runs, and the load average is recorded because a shared machine's
other work shows up in these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bastion.campaigns.bursts import BurstTest
from bastion.campaigns.engine import CampaignConfig, CampaignEngine, PostInput
from bastion.campaigns.windows import F, KeyedWindows, expected

WORDS = ("news", "update", "city", "report", "people", "today", "market", "road", "team", "game", "music",
         "weather", "night", "school", "photo", "video", "live", "local", "world", "sport", "morning")


def stream(n: int, seed: int = 7, long_tail: bool = True) -> tuple[list[tuple[str, ...]], list[float], list[bool]]:
    """``long_tail``: log-uniform rank = Zipf(1) over 50,000 hashtags (nearly all of them occur, most rarely:
    the hard case, one window per rare hashtag). Otherwise a Pareto(1.05) rank, which concentrates the
    stream on about two thousand hashtags (a quiet day)."""
    rng = random.Random(seed)
    pool = [f"tag{i}" for i in range(50_000)]
    tags = []
    for _ in range(n):
        k = rng.choice((1, 1, 2, 3))
        if long_tail:
            tags.append(tuple(pool[int(len(pool) ** rng.random()) - 1] for _ in range(k)))
        else:
            tags.append(tuple(pool[min(int(rng.paretovariate(1.05)) - 1, len(pool) - 1)] for _ in range(k)))
    t0 = 1.45e9
    times = [t0 + i * 0.02 for i in range(n)]
    flagged = [rng.random() < 0.05 for _ in range(n)]
    return tags, times, flagged


def bench_windows(tags: list[tuple[str, ...]], times: list[float], flagged: list[bool],
                  burst: bool) -> dict[str, Any]:
    kw = KeyedWindows()
    add_post = kw.add_post
    test = BurstTest()
    spec = kw.spec
    start = time.perf_counter()
    if burst:
        for tg, ts, fl in zip(tags, times, flagged, strict=True):
            states = add_post(tg, ts, fl)
            if fl:
                for w in states:
                    if w[F] >= 3:
                        test.test(w[F], expected(w, ts, spec, flagged=True))
    else:
        for tg, ts, fl in zip(tags, times, flagged, strict=True):
            add_post(tg, ts, fl)
    elapsed = time.perf_counter() - start
    adds = sum(len(tg) for tg in tags)
    return {"posts": len(tags), "hashtag_adds": adds, "seconds": round(elapsed, 3),
            "posts_per_s": round(len(tags) / elapsed), "adds_per_s": round(adds / elapsed), "keys": len(kw)}


def bench_engine(tags: list[tuple[str, ...]], times: list[float], flagged: list[bool]) -> dict[str, Any]:
    rng = random.Random(11)
    inputs = [PostInput(post_id=f"p{i}", account=f"a{rng.randrange(20_000)}", ts=ts, hashtags=tg,
                        text=" ".join(rng.choice(WORDS) for _ in range(8)), text_score=0.9 if fl else 0.0)
              for i, (tg, ts, fl) in enumerate(zip(tags, times, flagged, strict=True))]
    engine = CampaignEngine(CampaignConfig())
    start = time.perf_counter()
    for p in inputs:
        engine.observe(p)
    elapsed = time.perf_counter() - start
    return {"posts": len(inputs), "seconds": round(elapsed, 3), "posts_per_s": round(len(inputs) / elapsed),
            "campaigns": len(engine.book) + len(engine.book.closed)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--engine-posts", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    ap.add_argument("--json", type=Path, default=Path("bench/results/campaigns.json"))
    args = ap.parse_args()
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        pinned = cpu
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    result: dict[str, Any] = {"target_posts_per_s": 100_000}
    for name, long_tail in (("long_tail", True), ("concentrated", False)):
        tags, times, flagged = stream(args.posts, long_tail=long_tail)
        for label, burst in (("window_counters", False), ("window_counters_with_burst_test", True)):
            runs = [bench_windows(tags, times, flagged, burst=burst) for _ in range(args.repeat)]
            rates = sorted(r["posts_per_s"] for r in runs)
            result[f"{label}_{name}"] = runs[0] | {"posts_per_s": statistics.median(rates), "runs_posts_per_s": rates}
    tags, times, flagged = stream(args.engine_posts)
    result["engine_observe"] = bench_engine(tags, times, flagged)
    result |= {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(), "pinned_cpu": pinned,
                    "cpus_visible": os.cpu_count(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg() if hasattr(os, "getloadavg") else None},
    }
    result["meets_target"] = all(result[f"window_counters_{d}"]["posts_per_s"] >= result["target_posts_per_s"]
                                 for d in ("long_tail", "concentrated"))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
