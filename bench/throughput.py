"""End-to-end scan throughput: ingest + detectors + policy + SQLite persistence, posts per second.

    python bench/throughput.py [--data FILE] [--posts N] [--repeat 3] [--json OUT] [--md OUT]
                               [--detectors none,all] [--workers 1,2]

Runs the same code path as ``bastion scan`` into a fresh SQLite database, ``--repeat`` times per detector
setting (the median is reported), on ``--data`` (any file ``bastion scan`` reads; the first ``--posts``
records, after a seeded shuffle of its lines) or, without it, on N synthetic posts. Measure detectors on real
posts: synthetic text with a small vocabulary closes every gate and hides the real cost. The report gives
posts/s, posts per CPU-second, microseconds per post for every stage and every detector, the peak RSS, and
the start-up time of ``bastion scan`` with every detector. Each run is a fresh interpreter.
``--workers`` runs each setting with that many detection processes (``bastion scan --workers``); with more
than one, the pure detectors' rows are CPU seconds spent in the workers, the largest worker's peak RSS is
given beside the main process's, and posts per CPU-second counts the workers' CPU too. Pin with ``taskset``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
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


def run_once(data: Path, detectors: str, workdir: Path, workers: int = 1, batch_size: int = 0) -> dict[str, Any]:
    """One run in a fresh interpreter (so no run inherits another's heap, caches or peak RSS)."""
    done = subprocess.run([sys.executable, __file__, "--one", str(data), detectors, str(workdir), str(workers),
                           str(batch_size)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"run failed ({detectors}, {workers} workers):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _one(data: Path, detectors: str, workdir: Path, workers: int, batch_size: int = 0) -> dict[str, Any]:
    t_start = time.perf_counter()
    from bastion.pipeline.build import build_pipeline, iter_inputs, tune_gc
    from bastion.settings import Settings

    db = workdir / f"bench-{detectors.replace(',', '_')}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    sized: dict[str, Any] = {"batch_size": batch_size} if batch_size else {}  # else bastion scan's default
    settings = Settings.load(db_url=f"sqlite:///{db}", detectors=detectors, workers=workers, **sized)
    pipeline, names = build_pipeline(settings, bulk=True)
    tune_gc()  # as `bastion scan` does
    t0, c0 = time.perf_counter(), _cpu()
    stats = pipeline.run(iter_inputs([data]), inputs=[str(data)])
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    per_post = {k: round(1e6 * v / max(1, stats.posts), 1) for k, v in sorted(stats.stage_seconds.items())}
    return {"detectors": detectors, "workers": workers, "batch_size": settings.batch_size,
            "detector_names": names, "posts": stats.posts,
            "seconds": round(elapsed, 3), "build_s": round(t0 - t_start, 3),
            "posts_per_s": round(stats.posts / elapsed, 1), "posts_per_cpu_s": round(stats.posts / cpu, 1),
            "decisions": stats.decisions, "actions": dict(stats.actions),
            "stage_seconds": stats.to_json()["stage_seconds"], "us_per_post": per_post,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
            if workers > 1 else None}


def startup(workdir: Path, repeat: int = 5) -> dict[str, Any]:
    """Wall seconds of ``bastion scan`` with every detector on a one-post file, start to exit (medians).

    ``seconds`` is a scan into an existing database (the usual case: the schema is current, so no migration
    runs); ``seconds_new_db`` is a scan that creates and migrates a new database first.
    """
    tiny = workdir / "one-post.jsonl"
    tiny.write_text(json.dumps({"type": "post", "id": "p1", "account_id": "a1", "text": "hello world",
                                "created_at": "2015-01-01T00:00:00Z"}) + "\n")
    exe = Path(sys.executable).with_name("bastion")

    def timed(db: Path) -> float:
        t0 = time.perf_counter()
        subprocess.run([str(exe), "scan", str(tiny), "--db", str(db), "--detectors", "all", "-q"], check=True,
                       capture_output=True)
        return round(time.perf_counter() - t0, 3)

    new = [timed(workdir / f"startup-new-{i}.db") for i in range(3)]
    existing = [timed(workdir / "startup-new-0.db") for _ in range(repeat)]
    return {"command": "bastion scan one-post.jsonl --detectors all", "seconds_runs": existing,
            "seconds": sorted(existing)[len(existing) // 2], "seconds_new_db_runs": new,
            "seconds_new_db": sorted(new)[1]}


def sample(source: Path, dest: Path, n_posts: int, seed: int = 1) -> None:
    """The first ``n_posts`` lines of ``source`` after a seeded shuffle (a real mix, not its first dataset)."""
    lines = source.read_bytes().splitlines(keepends=True)
    random.Random(seed).shuffle(lines)
    dest.write_bytes(b"".join(lines[:n_posts]))


def run_setting(data: Path, detectors: str, workdir: Path, repeat: int, workers: int = 1,
                batch_size: int = 0) -> dict[str, Any]:
    """``repeat`` runs on fresh databases; the median run is reported, with every run's rate beside it (this
    machine's speed varies from minute to minute, so one run proves little)."""
    runs = [run_once(data, detectors, workdir, workers, batch_size) for _ in range(repeat)]
    rates = [float(r["posts_per_s"]) for r in runs]
    median = sorted(runs, key=lambda r: float(r["posts_per_s"]))[len(runs) // 2]
    return {**median, "repeat": repeat, "posts_per_s_runs": rates,
            "posts_per_cpu_s_runs": [r["posts_per_cpu_s"] for r in runs]}


def main() -> int:
    if len(sys.argv) == 7 and sys.argv[1] == "--one":
        print(json.dumps(_one(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), int(sys.argv[5]),
                              int(sys.argv[6]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--data", type=Path, default=None, help="real posts (any format bastion scan reads)")
    ap.add_argument("--detectors", default="none,all", help="comma-free settings separated by ';' or ','")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--md", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting; the median is reported")
    ap.add_argument("--workers", default="1", help="detection processes, comma-separated (e.g. 1,2)")
    ap.add_argument("--batch-size", type=int, default=0, help="posts per batch (default: bastion scan's)")
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
        results = [run_setting(data, s, work, max(1, args.repeat), int(w), args.batch_size)
                   for s in settings for w in args.workers.split(",")]
        started = startup(work)
    report = {"benchmark": "scan throughput", "posts": args.posts,
              "data": args.data.name if args.data else "synthetic", "python": sys.version.split()[0],
              "machine": platform.machine(), "cpus": os.cpu_count(), "load_before": round(load_before, 2),
              "pinned_cpus": sorted(os.sched_getaffinity(0)),
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "startup": started, "runs": results}
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    if args.md:
        source = f"posts sampled from {args.data.name}" if args.data else "synthetic posts"
        lines = ["# Scan throughput", "", f"{args.posts:,} {source}, SQLite, on CPUs "
                 f"{report['pinned_cpus']}, load average before {report['load_before']}, "
                 f"{results[0]['batch_size']:,} posts per batch; median of "
                 f"{args.repeat} runs per setting.", "",
                 "| detectors | workers | posts/s (median) | every run | posts per CPU-second | seconds | decisions |",
                 "|---|---:|---:|---|---:|---:|---:|"]
        lines += [f"| {r['detectors']} ({', '.join(r['detector_names']) or '-'}) | {r['workers']} | "
                  f"{r['posts_per_s']:,} | "
                  f"{', '.join(f'{x:,.0f}' for x in r['posts_per_s_runs'])} | {r['posts_per_cpu_s']:,} | "
                  f"{r['seconds']} | {r['decisions']:,} |" for r in results]
        lines += ["", f"Start-up: `{started['command']}` takes {started['seconds']} s from start to exit into an "
                  f"existing database (median of {', '.join(map(str, started['seconds_runs']))}), "
                  f"{started['seconds_new_db']} s when it creates the database (median of "
                  f"{', '.join(map(str, started['seconds_new_db_runs']))}).", ""]
        for r in results:
            rss = f"peak RSS {r['peak_rss_mb']} MB" + (f", each worker {r['worker_peak_rss_mb']} MB (sharing the "
                                                       "models' pages with the main process)"
                                                       if r.get("worker_peak_rss_mb") else "")
            lines += ["", f"Microseconds per post, {r['detectors']}, {r['workers']} worker(s) ({rss}):", "",
                      "| stage | µs/post |", "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in sorted(r["us_per_post"].items(), key=lambda kv: -kv[1])]
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
