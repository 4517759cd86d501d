"""Benchmark: the threat stage's cost per post on real posts, as the pipeline runs it (batches of 512).

Real posts, because synthetic text with a small vocabulary closes the gate on every post and hides the cost: a
tvec-dev-like mix has news of attacks and wars, scripture and angry replies, and about three posts in ten open
the gate. Passes over the same posts: the first with cold word caches (a new stream), then warm ones (a process
that has run a while; the fastest of ``--repeat``), with and without the folded text already computed by an
earlier detector (normalisation is shared in the pipeline); and the share of posts the gate opened. The
garbage collector is tuned as ``bastion scan`` tunes it.

    .venv/bin/python bench/threats.py --data ../shared/data/eval/tvec-dev.jsonl --posts 20000 \\
        --json bench/results/threat-speed.json

Times on a shared virtual machine vary by up to two times from one hour to the next. To compare two versions of
the code, count instructions instead, which do not vary: ``bench/instructions.py`` runs this benchmark under
callgrind with ``--repeat 0`` and ``--repeat 1``.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path
from typing import Any

from report import emit  # bench/: print the report, write it to --json

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="eval-format JSONL (text, lang)")
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="warm passes; the fastest is reported (0: none)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from bastion.detector import PostContext
    from bastion.pipeline.build import tune_gc
    from bastion.records import AccountId, Post, PostId
    from bastion.text.corpus import json_records
    from bastion.text.normalize import fold_with_offsets
    from bastion.threats.detector import ThreatDetector

    rows = [r for _, r in json_records(args.data, "benchmark data")]
    random.Random(args.seed).shuffle(rows)
    rows = rows[: args.posts]
    posts = [Post(id=PostId(str(r.get("id", i))), account_id=AccountId("bench"), text=str(r["text"]),
                  lang=r.get("lang")) for i, r in enumerate(rows)]
    t0 = time.perf_counter()
    det = ThreatDetector()
    build_s = time.perf_counter() - t0
    tune_gc()  # as `bastion scan` and `serve` run once their pipeline is built

    def run(shared_fold: bool) -> tuple[float, int]:
        """One pass; ``shared_fold``: the folded text is already there, as in a pipeline where an earlier
        detector asked for it (normalisation is done once per post and shared)."""
        opened = 0
        elapsed = 0.0
        for i in range(0, len(posts), args.batch):
            batch = [PostContext(p) for p in posts[i: i + args.batch]]
            if shared_fold:
                for ctx in batch:
                    ctx.view(fold_with_offsets)
            start = time.perf_counter()
            for sigs in det.detect(batch):
                opened += sigs[0].details.get("gate") == "open"
            elapsed += time.perf_counter() - start
        return elapsed, opened

    cold, opened = run(False)
    warm = min((run(False)[0] for _ in range(args.repeat)), default=None)
    shared = min((run(True)[0] for _ in range(args.repeat)), default=None)
    report: dict[str, Any] = {
        "data": args.data.name, "posts": len(posts), "batch": args.batch, "detector": det.version,
        "build_s": round(build_s, 3),
        "us_per_post_cold": round(1e6 * cold / len(posts), 1),
        "us_per_post_warm": round(1e6 * warm / len(posts), 1) if warm is not None else None,
        "us_per_post_warm_shared_fold": round(1e6 * shared / len(posts), 1) if shared is not None else None,
        "gate_open_share": round(opened / len(posts), 4),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    emit(report, args.json)


if __name__ == "__main__":
    main()
