"""Benchmark: where a two-process scan loses time against one process - the hand-off of scored posts between
processes, the machine itself, and the main process waiting for its worker.

Three parts, on real posts:

* hand-off: one batch scored by the pure detectors (as a worker scores it), then pickled and unpickled as
  ``concurrent.futures`` does across the process boundary; microseconds per post each way and bytes per post,
  and the same with the signals pickled as dataclasses pickle by default.
* ceiling: the pure detectors' work on the same posts in one process, then in two at once; twice the first
  time over the second is the most two processes gain on this machine, whatever the pipeline does.
* waiting: ``--repeat`` scans with ``--workers 2`` into fresh SQLite databases; per scan, the time the main
  process spent taking each batch's signals from its worker (waiting for them, and unpickling what the pool's
  result thread has not yet), per post, and posts/s. Medians are reported.

    .venv/bin/python bench/workers.py --data ../shared/data/eval/tvec-dev.jsonl --posts 20000 \\
        --json bench/results/workers-tvec-20k.json
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import throughput  # bench/: the sample it scans
from report import emit  # bench/: print the report, write it to --json

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def handoff(data: Path, posts: int) -> dict[str, Any]:
    from bastion import catalogue
    from bastion.pipeline.workers import leading_pure, score_with
    from bastion.records import AccountId, Post, PostId
    from bastion.signals import Signal, Span
    from bastion.text.corpus import json_records

    rows = [r for _, r in json_records(data, "benchmark data")][:posts]
    items = [(Post(id=PostId(str(i)), account_id=AccountId("bench"), text=str(r["text"]), lang=r.get("lang")), None)
             for i, r in enumerate(rows)]
    detectors = catalogue.build(catalogue.parse_names("all"))
    pure = leading_pure(detectors)
    views = tuple(dict.fromkeys(f for det in detectors[pure:] for f in det.views))

    score_with(detectors[:pure], views, items[:200])  # warm the word caches, as a worker that has run a while
    scored = score_with(detectors[:pure], views, items)
    n = len(items)

    def both_ways() -> tuple[float, float, int]:
        dumps, loads = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            blob = pickle.dumps(scored, protocol=pickle.HIGHEST_PROTOCOL)
            t1 = time.perf_counter()
            pickle.loads(blob)
            dumps.append(t1 - t0)
            loads.append(time.perf_counter() - t1)
        return min(dumps), min(loads), len(blob)

    dump, load, size = both_ways()
    # the same signals as dataclasses pickle by default (slots state, set field by field), for comparison
    saved = Signal.__reduce__, Span.__reduce__
    del Signal.__reduce__, Span.__reduce__
    try:
        dump_default, load_default, _ = both_ways()
    finally:
        Signal.__reduce__, Span.__reduce__ = saved  # type: ignore[method-assign]
    t0 = time.perf_counter()
    sent = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
    posts_dump = time.perf_counter() - t0
    return {"posts": n, "pure_detectors": [d.name for d in detectors[:pure]],
            "signals_dump_us_per_post": round(1e6 * dump / n, 2), "signals_load_us_per_post": round(1e6 * load / n, 2),
            "signals_bytes_per_post": round(size / n, 1),
            "default_dataclass_pickling": {"signals_dump_us_per_post": round(1e6 * dump_default / n, 2),
                                           "signals_load_us_per_post": round(1e6 * load_default / n, 2)},
            "posts_dump_us_per_post": round(1e6 * posts_dump / n, 2), "posts_bytes_per_post": round(len(sent) / n, 1)}


def ceiling(data: Path, posts: int, repeat: int) -> dict[str, Any]:
    """What two processes get done on this machine against one, on the pure detectors' own work: the same posts
    scored by one process alone, then by two forked processes at once (each the whole set). ``ratio`` (the
    median over the runs) is 2 x alone / the slower of the pair: the most ``--workers 2`` could gain with a
    perfect split and no hand-off.
    Cores of a shared virtual machine are rarely two whole cores (caches, memory bandwidth, the host's load)."""
    from bastion import catalogue
    from bastion.pipeline.build import tune_gc
    from bastion.pipeline.workers import leading_pure, score_with
    from bastion.records import AccountId, Post, PostId
    from bastion.text.corpus import json_records

    rows = [r for _, r in json_records(data, "benchmark data")][:posts]
    items = [(Post(id=PostId(str(i)), account_id=AccountId("bench"), text=str(r["text"]), lang=r.get("lang")), None)
             for i, r in enumerate(rows)]
    detectors = catalogue.build(catalogue.parse_names("all"))
    pure = leading_pure(detectors)
    tune_gc()
    score_with(detectors[:pure], (), items)  # warm the word caches before forking: both start alike

    def timed() -> float:
        t0 = time.perf_counter()
        for i in range(0, len(items), 1000):
            score_with(detectors[:pure], (), items[i:i + 1000])
        return time.perf_counter() - t0

    alone, pairs = [], []
    for _ in range(max(1, repeat)):
        alone.append(timed())
        pipes = []
        for _ in range(2):
            r, w = os.pipe()
            if os.fork() == 0:  # a child: time the same work, report, leave without cleaning up the parent's
                os.close(r)
                os.write(w, repr(timed()).encode())
                os._exit(0)
            os.close(w)
            pipes.append(r)
        pair = []
        for r in pipes:
            with os.fdopen(r) as f:
                pair.append(float(f.read()))
        os.waitpid(-1, 0)
        os.waitpid(-1, 0)
        pairs.append(max(pair))
    runs = [{"alone_s": round(a, 3), "pair_slower_s": round(b, 3), "ratio": round(2 * a / b, 3)}
            for a, b in zip(alone, pairs, strict=True)]
    return {"posts": len(items), "us_per_post_alone": round(1e6 * statistics.median(alone) / len(items), 1),
            "ratio": statistics.median(r["ratio"] for r in runs), "runs": runs}


def _one(data: Path, workdir: Path) -> dict[str, Any]:
    """One ``--workers 2`` scan in this interpreter, timing the main process's hand-overs."""
    from bastion.pipeline import workers
    from bastion.pipeline.build import build_pipeline, iter_inputs, tune_gc
    from bastion.settings import Settings

    spent = {"seconds": 0.0, "batches": 0}
    original = workers.Ahead.result

    def timed(self: workers.Ahead) -> workers.Scored:
        t0 = time.perf_counter()
        try:
            return original(self)
        finally:
            spent["seconds"] += time.perf_counter() - t0
            spent["batches"] += 1

    workers.Ahead.result = timed  # type: ignore[method-assign]
    db = workdir / "workers.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    settings = Settings.load(db_url=f"sqlite:///{db}", detectors="all", workers=2)
    pipeline, _ = build_pipeline(settings, bulk=True)
    tune_gc()
    t0 = time.perf_counter()
    stats = pipeline.run(iter_inputs([data]), inputs=[str(data)])
    elapsed = time.perf_counter() - t0
    return {"posts": stats.posts, "batch_size": settings.batch_size, "batches": spent["batches"],
            "seconds": round(elapsed, 3), "posts_per_s": round(stats.posts / elapsed, 1),
            "handover_s": round(spent["seconds"], 3),
            "handover_us_per_post": round(1e6 * spent["seconds"] / max(1, stats.posts), 1),
            "decisions": stats.decisions}


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(_one(Path(sys.argv[2]), Path(sys.argv[3]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="real posts (any format bastion scan reads)")
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3, help="two-process scans; medians are reported")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sample = work / f"sample{args.data.suffix}"
        throughput.sample(args.data, sample, args.posts)  # the sample bench/throughput.py scans
        hand = handoff(sample, min(args.posts, 2000))
        most = ceiling(sample, min(args.posts, 10000), max(3, args.repeat))
        runs = []
        for _ in range(max(1, args.repeat)):
            done = subprocess.run([sys.executable, __file__, "--one", str(sample), str(work)], capture_output=True,
                                  text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"scan failed:\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.splitlines()[-1]))
    report = {"benchmark": "detection workers", "data": args.data.name, "posts": args.posts,
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "handoff": hand, "two_processes_ceiling": most,
              "workers_2": {"posts_per_s": statistics.median(r["posts_per_s"] for r in runs),
                            "handover_us_per_post": statistics.median(r["handover_us_per_post"] for r in runs),
                            "runs": runs}}
    emit(report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
