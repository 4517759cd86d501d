"""Benchmark helper: the instructions a benchmark's measured passes execute, to compare two versions of the code.

Times on a shared virtual machine drift by up to two times from one hour to the next, more than most changes
are worth; instruction counts do not drift. This runs a benchmark that takes ``--repeat N`` (``bench/threats.py``)
under callgrind twice, with ``--repeat 0`` (start-up and the cold pass only) and ``--repeat 1`` (one measured
pass more of each kind), and reports the difference per post. Point ``--src`` at another checkout's ``src`` to
count an older version with the same benchmark script. Needs ``valgrind`` (Debian's package); slow (about 50
times the benchmark's own time), so run it outside the test suite:

    .venv/bin/python bench/instructions.py --posts 20000 --json bench/results/threat-instructions.json -- \\
        bench/threats.py --data ../shared/data/eval/tvec-dev.jsonl
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from report import emit  # bench/: print the report, write it to --json

_COLLECTED = re.compile(r"Collected : (\d+)")


def count(argv: list[str], src: Path | None) -> int:
    """Instructions callgrind counts for one run of ``argv`` (a Python script and its arguments)."""
    # one hash seed: string hashes decide where dictionary and set entries fall, and so a few instructions
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONHASHSEED": "0"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *argv]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    found = _COLLECTED.search(res.stderr)
    if res.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({res.returncode}): {' '.join(argv)}\n{res.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, required=True, help="posts the benchmark reads (passed on, and the divisor)")
    ap.add_argument("--src", type=Path, help="the source tree to count (default: the installed bastion)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("bench", nargs=argparse.REMAINDER, help="-- SCRIPT [ARGS...]: the benchmark to run")
    args = ap.parse_args()
    bench = [a for a in args.bench if a != "--"]
    if not bench:
        ap.error("name the benchmark after --, e.g. -- bench/threats.py --data FILE")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    base = [*bench, "--posts", str(args.posts)]
    started = time.time()
    without = count([*base, "--repeat", "0"], args.src)
    with_one = count([*base, "--repeat", "1"], args.src)
    report = {
        "benchmark": " ".join(base), "src": str(args.src) if args.src else "installed",
        "posts": args.posts, "instructions_repeat_0": without, "instructions_repeat_1": with_one,
        "instructions_per_post": round((with_one - without) / args.posts),
        "note": "the measured passes of one repeat (for bench/threats.py: one warm pass and one with the "
                "folded text shared), per post",
        "wall_s": round(time.time() - started, 1),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    emit(report, args.json)


if __name__ == "__main__":
    main()
