"""Throughput of the campaign stage's window counters (target: >= 100,000 posts/s on one core).

    .venv/bin/python bench/campaigns.py [--posts 1000000] [--json bench/results/campaigns.json]

A synthetic stream stands in for a platform's firehose: posts 20 ms apart in event time, each carrying
1-3 hashtags drawn from a Zipf-like distribution over 50,000 hashtags (a few huge, a long tail), 5% of posts
flagged. Three figures:

* ``window_counters``: :meth:`KeyedWindows.add` for every hashtag of every post - the per-hashtag sliding
  windows and lagged baselines the stage keeps (the benchmark the target is about);
* ``window_counters_with_burst_test``: the same plus the Poisson burst test wherever the flagged count
  reaches the floor (what the stage runs per post before anything expensive);
* ``engine_observe``: the whole per-post update of :class:`CampaignEngine` (accounts, near-duplicate
  SimHash, windows, bursts, campaigns) on short synthetic texts, for context.

The process is pinned to one CPU where the OS allows it. Inputs are generated before timing starts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

from bastion.campaigns.bursts import BurstTest
from bastion.campaigns.engine import CampaignConfig, CampaignEngine, PostInput
from bastion.campaigns.windows import KeyedWindows

WORDS = ("news", "update", "city", "report", "people", "today", "market", "road", "team", "game", "music",
         "weather", "night", "school", "photo", "video", "live", "local", "world", "sport", "morning")


def stream(n: int, seed: int = 7) -> tuple[list[tuple[str, ...]], list[float], list[bool]]:
    rng = random.Random(seed)
    pool = [f"tag{i}" for i in range(50_000)]
    tags = []
    for _ in range(n):
        k = rng.choice((1, 1, 2, 3))
        tags.append(tuple(pool[min(int(rng.paretovariate(1.05)) - 1, len(pool) - 1)] for _ in range(k)))
    t0 = 1.45e9
    times = [t0 + i * 0.02 for i in range(n)]
    flagged = [rng.random() < 0.05 for _ in range(n)]
    return tags, times, flagged


def bench_windows(tags: list[tuple[str, ...]], times: list[float], flagged: list[bool],
                  burst: bool) -> dict[str, Any]:
    kw = KeyedWindows()
    add = kw.add
    test = BurstTest()
    spec = kw.spec
    adds = 0
    start = time.perf_counter()
    if burst:
        for tg, ts, fl in zip(tags, times, flagged, strict=True):
            for tag in tg:
                w = add(tag, ts, fl)
                if fl and w.f >= 3:
                    test.test(w.f, w.expected(ts, spec, flagged=True))
            adds += len(tg)
    else:
        for tg, ts, fl in zip(tags, times, flagged, strict=True):
            for tag in tg:
                add(tag, ts, fl)
            adds += len(tg)
    elapsed = time.perf_counter() - start
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
    ap.add_argument("--engine-posts", type=int, default=100_000)
    ap.add_argument("--json", type=Path, default=Path("bench/results/campaigns.json"))
    args = ap.parse_args()
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        pinned = cpu
    tags, times, flagged = stream(args.posts)
    result = {
        "target_posts_per_s": 100_000,
        "window_counters": bench_windows(tags, times, flagged, burst=False),
        "window_counters_with_burst_test": bench_windows(tags, times, flagged, burst=True),
        "engine_observe": bench_engine(tags[: args.engine_posts], times[: args.engine_posts],
                                       flagged[: args.engine_posts]),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(), "pinned_cpu": pinned,
                    "cpus_visible": os.cpu_count()},
    }
    result["meets_target"] = result["window_counters"]["posts_per_s"] >= result["target_posts_per_s"]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
