"""Ban-evasion look-up latency against a large index of suspended fingerprints.

    python bench/ban_evasion.py [--n 1000000] [--queries 2000] [--json OUT] [--md OUT]

Builds a :class:`~bastion.accounts.evasion_index.FingerprintIndex` of N synthetic suspended profiles
(:mod:`bastion.accounts.synthetic`: syllable handles, Zipf-vocabulary bios, half with an avatar PDQ, some with
hashed identifiers and links), then times registration look-ups: half are re-registrations of a random
suspended profile (new handle number, underscore or look-alike letter, slightly edited name/bio, re-encoded
avatar, no shared identifiers), half are fresh strangers. Each look-up is what ``detect_accounts`` does:
derive the comparable form, look up keys, rank candidates, compare the best ones exactly.

Reports wall-clock and CPU (thread) time per look-up - on a shared machine the wall-clock tail includes
time spent waiting for a core, so the load average is recorded too - plus recall@1 on the
re-registrations and false links per 100 strangers at the policy thresholds (0.6 review, 0.9 suspend).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

from bastion.accounts.evasion_index import FingerprintIndex
from bastion.accounts.fingerprint import Derived
from bastion.accounts.synthetic import Population


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="suspended fingerprints in the index")
    ap.add_argument("--queries", type=int, default=2000, help="look-ups (half re-registrations)")
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--md", type=Path, default=None)
    args = ap.parse_args()

    load_start = os.getloadavg()
    pop = Population(seed=1)
    index = FingerprintIndex()
    kept = []  # a sample of suspended profiles to re-register
    every = max(1, args.n // args.queries)
    t0 = time.perf_counter()
    built = 0
    while built < args.n:
        chunk = [pop.profile() for _ in range(min(args.chunk, args.n - built))]
        kept += chunk[::every]
        index.add_many(chunk)
        built += len(chunk)
        print(f"indexed {built:,} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    index.keys.freeze()
    build_s = time.perf_counter() - t0
    # A long-lived matching service holds millions of fingerprint objects: keep them out of the cyclic
    # garbage collector's full sweeps (each would stall a look-up for hundreds of milliseconds).
    gc.collect()
    gc.freeze()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rng = np.random.default_rng(2)
    half = args.queries // 2
    originals = [kept[i] for i in rng.choice(len(kept), size=half, replace=False)]
    evaders = [pop.evade(fp) for fp in originals]
    strangers = [Population(seed=991).profile() for _ in range(args.queries - half)]
    queries = [(q, o.account_id) for q, o in zip(evaders, originals, strict=True)] + [(s, None) for s in strangers]
    order = rng.permutation(len(queries))
    wall, cpu = [], []
    hits, false_links = 0, {0.6: 0, 0.9: 0}
    for i in order:
        q, truth = queries[int(i)]
        w0, c0 = time.perf_counter(), time.thread_time()
        matches = index.query(Derived.of(q), k=5)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
        top = matches[0] if matches else None
        if truth is not None:
            hits += top is not None and top.account_id == truth
        elif top is not None:
            for t in false_links:
                false_links[t] += top.score >= t
    w, c = np.array(wall) * 1000, np.array(cpu) * 1000

    def pct(a: np.ndarray) -> dict[str, float]:
        return {p: round(float(np.percentile(a, q)), 3) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))} | {
            "max": round(float(a.max()), 3)}

    report = {
        "fingerprints": len(index), "index_keys": len(index.keys), "build_seconds": round(build_s, 1),
        "max_rss_mb": round(rss_mb), "queries": len(queries), "lookup_wall_ms": pct(w), "lookup_cpu_ms": pct(c),
        "reregistration_recall_at_1": round(hits / half, 4),
        "false_links_per_100_strangers": {f"{t:g}": round(100 * v / (len(queries) - half), 3)
                                          for t, v in false_links.items()},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_start": [round(x, 2) for x in load_start],
                    "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
        "command": "python bench/ban_evasion.py " + " ".join(sys.argv[1:]),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(
            f"# Ban-evasion look-up, {len(index):,} suspended fingerprints\n\n"
            f"| | p50 | p95 | p99 | max |\n|---|---|---|---|---|\n"
            f"| wall ms | {report['lookup_wall_ms']['p50']} | {report['lookup_wall_ms']['p95']} | "
            f"{report['lookup_wall_ms']['p99']} | {report['lookup_wall_ms']['max']} |\n"
            f"| CPU ms | {report['lookup_cpu_ms']['p50']} | {report['lookup_cpu_ms']['p95']} | "
            f"{report['lookup_cpu_ms']['p99']} | {report['lookup_cpu_ms']['max']} |\n\n"
            f"Re-registration recall@1 {report['reregistration_recall_at_1']}; false links per 100 strangers "
            f"{report['false_links_per_100_strangers']}; build {report['build_seconds']} s, max RSS "
            f"{report['max_rss_mb']} MB; load average {report['machine']['loadavg_start']} → "
            f"{report['machine']['loadavg_end']} on {report['machine']['cpus']} CPUs.\n\n"
            f"`{report['command']}`\n", encoding="utf-8")


if __name__ == "__main__":
    main()
