"""Memory and accounting of `bastion scan` on hostile input: one huge line among good records.

Writes a JSON Lines file holding real posts (from ``--data``) with one line of ``--line-mb`` MiB in the middle
(a post whose text is that long, and a run of bytes with no newline at all), scans it in a fresh interpreter
and reports the scan's peak RSS and whether every record read was taken or quarantined::

    .venv/bin/python bench/ingest_memory.py --data ../shared/data/eval/tvec-dev.jsonl --line-mb 500 \\
        --json bench/results/ingest-memory-500mb.json

Peak RSS is the child's ``ru_maxrss``; the target (issue #16) is 300 MB whatever the line.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import emit  # bench/: print the report, write it to --json

CHUNK = 1 << 20


def write_input(path: Path, data: Path, posts: int, line_mb: int) -> int:
    """Good posts, one ``line_mb`` MiB line, more good posts; returns the number of lines written."""
    lines = 0
    with data.open("rb") as src, path.open("wb") as out:
        good = [line for _, line in zip(range(posts), src, strict=False) if line.strip()]
        half = len(good) // 2
        for line in good[:half]:
            out.write(line)
            lines += 1
        out.write(b'{"id": "huge", "account_id": "u", "text": "')
        block = b"a" * CHUNK
        for _ in range(line_mb):
            out.write(block)
        out.write(b'"}\n')
        lines += 1
        for line in good[half:]:
            out.write(line)
            lines += 1
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="JSON Lines posts (e.g. eval/tvec-dev.jsonl)")
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--line-mb", type=int, default=500)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "hostile.jsonl"
        lines = write_input(src, args.data, args.posts, args.line_mb)
        file_mb = src.stat().st_size / CHUNK
        out, quarantine = Path(tmp) / "out.jsonl", Path(tmp) / "quarantine.jsonl"
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bastion.cli.main", "scan", str(src), "--db",
                               str(Path(tmp) / "b.db"), "--detectors", "none", "--format", "corpus", "-q",
                               "--out", str(out), "--quarantine", str(quarantine)],
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            raise SystemExit(f"scan failed ({done.returncode}): {done.stderr[-2000:]}")
        taken = sum(1 for _ in out.open("rb"))
        quarantined = sum(1 for _ in quarantine.open("rb"))
    report = {"benchmark": "ingest_memory", "line_mb": args.line_mb, "file_lines": lines,
              "file_mb": round(file_mb, 1), "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb, 1),
              "taken": taken, "quarantined": quarantined,
              "read_equals_taken_plus_quarantined": taken + quarantined == lines,
              "target_peak_rss_mb": 300, "met": peak_mb <= 300 and taken + quarantined == lines}
    emit(report, args.json)


if __name__ == "__main__":
    main()
