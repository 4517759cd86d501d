"""Benchmark and check: ``bastion spark scan`` against ``bastion scan`` on the same real posts.

Both runs use the same per-post detectors, the default policy and one fixed decision time; the report gives
how many decisions each made, whether the decision ids are the same set, how many differ in their rules and
actions, the largest score difference, and each run's wall time (Spark's includes starting the JVM).

    .venv/bin/python bench/spark_parity.py --data ../shared/data/eval/tvec-dev.jsonl --posts 20000 \\
        --json bench/results/spark-parity-tvec-20k.json
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import emit  # bench/: print the report, write it to --json

NOW = "2026-12-05T00:00:00+00:00"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="JSON Lines in --format")
    ap.add_argument("--format", default="corpus", help="native or corpus")
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--detectors", default="lexicon,propaganda,threat")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scan-batch-size", type=int, help="records per batch of bastion scan (its default if unset); "
                    "one batch holding every record makes the scan decide accounts once, on everything read")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    bastion = str(Path(sys.executable).with_name("bastion"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lines = args.data.read_bytes().splitlines(keepends=True)
        random.Random(args.seed).shuffle(lines)
        sample = work / "sample.jsonl"
        sample.write_bytes(b"".join(lines[: args.posts]))

        t0 = time.perf_counter()
        subprocess.run([bastion, "scan", str(sample), "--format", args.format, "--detectors", args.detectors,
                        "--db", f"sqlite:///{work / 'b.db'}", "--out", str(work / "scan.jsonl"), "--quiet",
                        "--workers", "1", *(["--batch-size", str(args.scan_batch_size)] if args.scan_batch_size
                                             else [])], check=True, capture_output=True)
        scan_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([bastion, "spark", "scan", str(sample), "--format", args.format, "--detectors",
                        args.detectors, "--out", str(work / "spark"), "--master", args.master, "--now", NOW],
                       check=True, capture_output=True)
        spark_s = time.perf_counter() - t0

        import pyarrow.parquet as pq

        local = {d["decision_id"]: d for d in map(json.loads, (work / "scan.jsonl").read_text().splitlines())}
        remote = {r["id"]: json.loads(r["decision"]) for r in pq.read_table(work / "spark" / "decisions").to_pylist()}
        summary = json.loads((work / "spark" / "_summary.json").read_text())
        accounts = _account_decisions(work)

    common = set(local) & set(remote)
    action_diff = sum(1 for k in common if sorted((a["action"], a["rule"]) for a in local[k]["actions"])
                      != sorted((a["action"], a["rule"]) for a in remote[k]["actions"]))
    only_here: dict[str, int] = {}  # rules that fire in one run and not the other, by run and rule
    for k in common:
        mine = {a["rule"] for a in local[k]["actions"]}
        theirs = {a["rule"] for a in remote[k]["actions"]}
        for side, rules in (("scan", mine - theirs), ("spark", theirs - mine)):
            for rule in rules:
                only_here[f"{side}:{rule}"] = only_here.get(f"{side}:{rule}", 0) + 1
    rules = {key.split(":", 1)[1] for key in only_here}  # how many posts those rules fired on in each run
    fired = {f"{side}:{rule}": sum(1 for k in common if any(a["rule"] == rule for a in run[k]["actions"]))
             for side, run in (("scan", local), ("spark", remote)) for rule in sorted(rules)}
    by_signal: dict[str, float] = {}  # the largest difference in each signal both runs give
    for k in common:
        for n, v in local[k]["scores"].items():
            if n in remote[k]["scores"]:
                by_signal[n] = max(by_signal.get(n, 0.0), abs(v - remote[k]["scores"][n]))
    score_diff = max(by_signal.values(), default=0.0)
    one_sided: dict[str, int] = {}  # scores one run gives a post and the other does not, by run and signal
    for k in common:
        for side, mine, theirs in (("scan", local[k]["scores"], remote[k]["scores"]),
                                   ("spark", remote[k]["scores"], local[k]["scores"])):
            for n in mine.keys() - theirs.keys():
                one_sided[f"{side}:{n}"] = one_sided.get(f"{side}:{n}", 0) + 1
    report: dict[str, Any] = {
        "data": args.data.name, "posts_sampled": args.posts, "detectors": args.detectors, "master": args.master,
        "scan_batch_size": args.scan_batch_size,
        "scan_decisions": len(local), "spark_decisions": len(remote), "same_ids": set(local) == set(remote),
        "only_scan": len(set(local) - set(remote)), "only_spark": len(set(remote) - set(local)),
        "rules_or_actions_differ": action_diff, "rules_in_one_run_only": dict(sorted(only_here.items())),
        "posts_those_rules_fired_on": fired,
        "max_score_difference": score_diff, "scores_in_one_run_only": dict(sorted(one_sided.items())),
        "max_score_difference_by_signal": {n: d for n, d in sorted(by_signal.items()) if d > 0},
        **accounts,
        "spark_quarantined": summary["quarantined"],
        "actions": sum(len(d["actions"]) for d in local.values()),
        "scan_seconds": round(scan_s, 1), "spark_seconds": round(spark_s, 1),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    emit(report, args.json)


def _account_decisions(work: Path) -> dict[str, Any]:
    """With the account stage: each run's account decisions (scan's from its store, Spark's from its
    ``accounts`` partition), how many are the same decision (id) with the same actions, and the largest
    difference in a score (the scan keeps an account's first decision per outcome, Spark decides on
    the final score: docs/scale.md)."""
    import sqlite3

    import pyarrow.parquet as pq

    if not (work / "spark" / "accounts").exists():
        return {}
    with sqlite3.connect(work / "b.db") as c:
        local = {i: (json.loads(s), [a["action"] for a in json.loads(a)]) for i, s, a in c.execute(
            "select id, scores, actions from decisions where subject_kind = 'account'")}
    remote = {}
    for row in pq.read_table(work / "spark" / "accounts").to_pylist():
        d = json.loads(row["decision"])
        remote[d["decision_id"]] = (d["scores"], [a["action"] for a in d["actions"]])
    common = set(local) & set(remote)
    # per decision in common, the largest difference in a score both runs give
    moved = [max((abs(v - remote[k][0][n]) for n, v in local[k][0].items() if n in remote[k][0]), default=0.0)
             for k in common]
    return {
        "account_decisions_scan": len(local), "account_decisions_spark": len(remote),
        "account_decisions_in_common": len(common),
        "account_actions_differ": sum(1 for k in common if local[k][1] != remote[k][1]),
        "account_actions_scan_only": sum(1 for k in set(local) - common if local[k][1]),
        "account_actions_spark_only": sum(1 for k in set(remote) - common if remote[k][1]),
        "max_account_score_difference": max(moved, default=0.0),
        "account_scores_differ_by_0.05": sum(1 for d in moved if d >= 0.05),
    }


if __name__ == "__main__":
    main()
