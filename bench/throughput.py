"""End-to-end scan throughput: ingest + detectors + policy + SQLite persistence, posts per second.

    python bench/throughput.py [--data FILE] [--posts N] [--repeat 3] [--json OUT] [--md OUT]
                               [--detectors none,all] [--workers 1,2]

Runs the same code path as ``bastion scan`` into a fresh SQLite database, ``--repeat`` times per detector
setting (the median is reported), on ``--data`` (any file ``bastion scan`` reads; the first ``--posts``
records, after a seeded shuffle of its lines) or, without it, on N synthetic posts. Measure detectors on real
posts: synthetic text with a small vocabulary closes every gate and hides the real cost. The report gives
posts/s, posts per CPU-second, microseconds per post for every stage and every detector, and the peak RSS.
``--workers`` runs each setting with that many detection processes (``bastion scan --workers``); with more
than one, the pure detectors' rows are CPU seconds spent in the workers, the peak RSS is the main process's
plus its largest worker's, and posts per CPU-second counts the workers' CPU too. Pin a run with ``taskset``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

WORDS = ("the", "city", "council", "meets", "today", "about", "new", "park", "traffic", "weather", "match",
         "tonight", "great", "coffee", "school", "music", "festival", "train", "delayed", "again", "news",
         "report", "says", "minister", "visit", "market", "prices", "rise")
TAGS = ("news", "football", "weather", "music", "travel", "food")


def generate(path: Path, n_posts: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    t0 = datetime(2015, 1, 1, tzinfo=UTC)
    n_accounts = max(1, n_posts // 20)
    with path.open("wb") as fh:
        for a in range(n_accounts):
            fh.write(orjson.dumps({"type": "account", "id": f"acct{a}", "handle": f"user_{a}",
                                   "display_name": f"User {a}", "bio": "likes " + rng.choice(WORDS),
                                   "created_at": (t0 - timedelta(days=rng.randint(1, 900))).isoformat()}) + b"\n")
        for i in range(n_posts):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20)))
            if rng.random() < 0.3:
                text += " #" + rng.choice(TAGS)
            fh.write(orjson.dumps({"type": "post", "id": f"post{i}", "account_id": f"acct{rng.randrange(n_accounts)}",
                                   "text": text, "created_at": (t0 + timedelta(seconds=i)).isoformat(),
                                   "lang": "en"}) + b"\n")


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the detection workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_once(data: Path, detectors: str, workdir: Path, workers: int = 1) -> dict[str, Any]:
    from bastion.pipeline.build import build_pipeline, iter_inputs, tune_gc
    from bastion.settings import Settings

    db = workdir / f"bench-{detectors.replace(',', '_')}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    settings = Settings.load(db_url=f"sqlite:///{db}", detectors=detectors, batch_size=2000, workers=workers)
    pipeline, names = build_pipeline(settings, bulk=True)
    tune_gc()  # as `bastion scan` does
    t0, c0 = time.perf_counter(), _cpu()
    stats = pipeline.run(iter_inputs([data]), inputs=[str(data)])
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    per_post = {k: round(1e6 * v / max(1, stats.posts), 1) for k, v in sorted(stats.stage_seconds.items())}
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + \
        (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if workers > 1 else 0)
    return {"detectors": detectors, "workers": workers, "detector_names": names, "posts": stats.posts,
            "seconds": round(elapsed, 3),
            "posts_per_s": round(stats.posts / elapsed, 1), "posts_per_cpu_s": round(stats.posts / cpu, 1),
            "decisions": stats.decisions, "actions": dict(stats.actions),
            "stage_seconds": stats.to_json()["stage_seconds"], "us_per_post": per_post,
            "peak_rss_mb": round(rss_kb / 1024, 1)}


def sample(source: Path, dest: Path, n_posts: int, seed: int = 1) -> None:
    """The first ``n_posts`` lines of ``source`` after a seeded shuffle (a real mix, not its first dataset)."""
    lines = source.read_bytes().splitlines(keepends=True)
    random.Random(seed).shuffle(lines)
    dest.write_bytes(b"".join(lines[:n_posts]))


def run_setting(data: Path, detectors: str, workdir: Path, repeat: int, workers: int = 1) -> dict[str, Any]:
    """``repeat`` runs on fresh databases; the median run is reported, with every run's rate beside it (this
    machine's speed varies from minute to minute, so one run proves little)."""
    runs = [run_once(data, detectors, workdir, workers) for _ in range(repeat)]
    rates = [float(r["posts_per_s"]) for r in runs]
    median = sorted(runs, key=lambda r: float(r["posts_per_s"]))[len(runs) // 2]
    return {**median, "repeat": repeat, "posts_per_s_runs": rates,
            "posts_per_cpu_s_runs": [r["posts_per_cpu_s"] for r in runs]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--data", type=Path, default=None, help="real posts (any format bastion scan reads)")
    ap.add_argument("--detectors", default="none,all", help="comma-free settings separated by ';' or ','")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--md", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting; the median is reported")
    ap.add_argument("--workers", default="1", help="detection processes, comma-separated (e.g. 1,2)")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    settings = [s for s in args.detectors.replace(";", ",").split(",") if s] if ";" not in args.detectors \
        else args.detectors.split(";")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / (f"sample{args.data.suffix}" if args.data else "posts.jsonl")
        if args.data:
            sample(args.data, data, args.posts)
        else:
            generate(data, args.posts)
        results = [run_setting(data, s, work, max(1, args.repeat), int(w))
                   for s in settings for w in args.workers.split(",")]
    report = {"benchmark": "scan throughput", "posts": args.posts,
              "data": args.data.name if args.data else "synthetic", "python": sys.version.split()[0],
              "machine": platform.machine(), "cpus": os.cpu_count(), "load_before": round(load_before, 2),
              "pinned_cpus": sorted(os.sched_getaffinity(0)),
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "runs": results}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    if args.md:
        source = f"posts sampled from {args.data.name}" if args.data else "synthetic posts"
        lines = ["# Scan throughput", "", f"{args.posts:,} {source}, SQLite, on CPUs "
                 f"{report['pinned_cpus']}, load average before {report['load_before']}; median of "
                 f"{args.repeat} runs per setting.", "",
                 "| detectors | workers | posts/s (median) | every run | posts per CPU-second | seconds | decisions |",
                 "|---|---:|---:|---|---:|---:|---:|"]
        lines += [f"| {r['detectors']} ({', '.join(r['detector_names']) or '-'}) | {r['workers']} | "
                  f"{r['posts_per_s']:,} | "
                  f"{', '.join(f'{x:,.0f}' for x in r['posts_per_s_runs'])} | {r['posts_per_cpu_s']:,} | "
                  f"{r['seconds']} | {r['decisions']:,} |" for r in results]
        for r in results:
            lines += ["", f"Microseconds per post, {r['detectors']}, {r['workers']} worker(s) (peak RSS "
                      f"{r['peak_rss_mb']} MB):", "",
                      "| stage | µs/post |", "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in sorted(r["us_per_post"].items(), key=lambda kv: -kv[1])]
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
