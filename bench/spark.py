"""Benchmark: ``bastion spark scan`` on one and two cores against single-process ``bastion scan``.

The input is Bastion's native records: synthetic accounts (one per 20 posts) and edges (one per 10 posts)
around real corpus texts (``--data``, drawn with replacement in a seeded order), posts spread over 30 days.
Every run is a fresh ``bastion spark scan`` process (JVM start included, as an operator would see it); its
peak memory is the resident memory of its whole process tree (the JVM and its Python workers), sampled every
0.2 s. ``bastion scan`` on the same file (one core, ``--workers 1``) gives the single-process rate the Spark
rate per core is compared with. ``--stream`` adds the streaming check: a running ``bastion spark stream``
query with a 1 s trigger, and the seconds from a file landing in its source directory to the commit of its
decisions.

    .venv/bin/python bench/spark.py --data ../shared/data/eval/tvec-dev.jsonl --posts 100000,1000000 \\
        --masters 'local[1],local[2]' --detectors none,all --stream --json bench/results/spark.json

``all`` means every detector the synthetic input exercises: the per-post ones (lexicon, propaganda, threat) and
the job's whole-input stages (account risk, ban evasion, campaigns); ``bastion scan`` is compared with the same
six. (Media is left out: the synthetic posts carry no images; docs/scale.md gives the media stage's own figures.)

``--pin`` runs each ``local[N]`` job on N CPUs (``taskset``: the JVM and its Python workers inherit the
affinity) and the single-process scan on one. Unpinned, ``local[1]`` is one task slot, not one core: on a
two-core machine its JVM threads (reading, Arrow, shuffles, the garbage collector) run on the other core beside
the one Python worker, so "one to two cores" then compares about 1.2 cores with 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = "2026-12-05T00:00:00+00:00"
PER_POST = "lexicon,propaganda,threat"
ALL = f"{PER_POST},account_risk,ban_evasion,campaign"  # what "all" runs on Spark (and in the scan compared)
PAGE = os.sysconf("SC_PAGE_SIZE")


def generate(corpus: Path, dest: Path, n_posts: int, seed: int = 1) -> None:
    """``n_posts`` native posts (texts from ``corpus``) with their accounts and some edges, in one file."""
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    langs = [json.loads(line).get("lang") for line in corpus.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    rng = random.Random(seed)
    t0 = datetime(2015, 2, 1, tzinfo=UTC)
    n_accounts = max(1, n_posts // 20)
    with dest.open("w", encoding="utf-8") as fh:
        for a in range(n_accounts):
            fh.write(json.dumps({"type": "account", "id": f"a{a}", "handle": f"user_{a}",
                                 "created_at": (t0 - timedelta(days=rng.randint(1, 900))).isoformat()}) + "\n")
        for i in range(n_posts):
            k = rng.randrange(len(texts))
            post = {"type": "post", "id": f"p{i}", "account_id": f"a{rng.randrange(n_accounts)}", "text": texts[k],
                    "created_at": (t0 + timedelta(seconds=rng.randrange(30 * 86400))).isoformat()}
            if langs[k]:
                post["lang"] = langs[k]
            fh.write(json.dumps(post, ensure_ascii=False) + "\n")
            if i % 10 == 0:
                fh.write(json.dumps({"type": "edge", "src": f"a{rng.randrange(n_accounts)}",
                                     "dst": f"a{rng.randrange(n_accounts)}", "kind": "follow",
                                     "created_at": post["created_at"]}) + "\n")


TICK = os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> dict[int, tuple[int, int]]:
    """``root`` and all its descendants: pid -> (resident bytes, CPU ticks in user and system mode), from /proc."""
    children: dict[int, list[int]] = {}
    stat: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1]: the parent's pid
        # fields[21]: resident pages; fields[11], fields[12]: utime and stime
        stat[pid] = (int(fields[21]) * PAGE, int(fields[11]) + int(fields[12]))
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stat:
            tree[pid] = stat[pid]
        todo.extend(children.get(pid, []))
    return tree


def timed(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, the peak resident memory of its process tree and the CPU seconds the tree used
    (each process's last sampled user + system time: a local[1] master is one task slot, not one core, as the
    JVM's own threads and the Python workers run beside it)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    ticks: dict[int, int] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            tree = _tree(proc.pid)
            peak = max(peak, sum(rss for rss, _ in tree.values()) / 2**20)
            for pid, (_, cpu) in tree.items():
                ticks[pid] = max(ticks.get(pid, 0), cpu)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1),
            "cpu_seconds": round(sum(ticks.values()) / TICK, 1), "stdout": out}


def pinned(cmd: list[str], cores: int | None) -> list[str]:
    """``cmd`` on the first ``cores`` CPUs (``None``: wherever the scheduler puts it)."""
    return cmd if cores is None else ["taskset", "-c", f"0-{cores - 1}", *cmd]


def spark_run(bastion: str, data: Path, posts: int, master: str, detectors: str, work: Path,
              pin: bool = False) -> dict[str, Any]:
    out = work / "spark-out"
    shutil.rmtree(out, ignore_errors=True)
    names = ALL if detectors == "all" else detectors
    res = timed(pinned([bastion, "spark", "scan", str(data), "--out", str(out), "--master", master,
                 "--detectors", names, "--now", NOW], _cores(master) if pin else None))
    summary = json.loads((out / "_summary.json").read_text(encoding="utf-8"))
    shutil.rmtree(out, ignore_errors=True)
    return {"posts": posts, "master": master, "detectors": detectors, "seconds": res["seconds"],
            "posts_per_s": round(posts / res["seconds"], 1), "peak_rss_mb": res["peak_rss_mb"],
            "cpu_seconds": res["cpu_seconds"], "posts_per_cpu_s": round(posts / max(res["cpu_seconds"], 0.1), 1),
            "lines": summary["lines"], "decisions": summary["decisions"], "quarantined": summary["quarantined"],
            "phase_seconds": summary.get("seconds", {})}


def scan_run(bastion: str, data: Path, posts: int, detectors: str, work: Path, pin: bool = False) -> dict[str, Any]:
    db = work / "scan.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    names = ALL if detectors == "all" else detectors
    res = timed(pinned([bastion, "scan", str(data), "--db", f"sqlite:///{db}", "--detectors", names, "--workers", "1",
                        "--quiet"], 1 if pin else None))
    return {"posts": posts, "detectors": detectors, "seconds": res["seconds"],
            "posts_per_s": round(posts / res["seconds"], 1), "peak_rss_mb": res["peak_rss_mb"],
            "cpu_seconds": res["cpu_seconds"], "posts_per_cpu_s": round(posts / max(res["cpu_seconds"], 0.1), 1)}


def stream_latency(bastion: str, corpus: Path, work: Path, drops: int = 5) -> dict[str, Any]:
    """Seconds from a file landing in a running query's source directory to the commit of its decisions (the
    file sink's metadata log gaining a batch), with a 1 s trigger; the first file warms the query up."""
    inbox, out, ckpt = work / "inbox", work / "stream-out", work / "ckpt"
    for d in (inbox, out, ckpt):
        shutil.rmtree(d, ignore_errors=True)
    inbox.mkdir()
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()[:2000]]
    log = out / "_spark_metadata"

    def drop(n: int) -> None:
        tmp = work / f"drop-{n}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            for i in range(100):
                fh.write(json.dumps({"type": "post", "id": f"s{n}-{i}", "account_id": f"a{i % 7}",
                                     "text": texts[(n * 100 + i) % len(texts)],
                                     "created_at": "2015-02-01T12:00:00+00:00"}) + "\n")
        tmp.rename(inbox / f"drop-{n}.jsonl")  # appears whole, as a well-behaved producer's file does

    def batches() -> int:
        return len([p for p in log.glob("*") if p.name.isdigit() or p.name.endswith(".compact")]) \
            if log.exists() else 0

    def wait_for(n: int, limit: float) -> float | None:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < limit:
            if batches() >= n:
                return time.perf_counter() - t0
            time.sleep(0.05)
        return None

    proc = subprocess.Popen([bastion, "spark", "stream", "--source", "files", "--path", str(inbox), "--checkpoint",
                             str(ckpt), "--out", str(out), "--master", "local[2]", "--detectors", PER_POST,
                             "--every", "1 second", "--now", NOW],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    latencies: list[float] = []
    try:
        drop(0)
        warm = wait_for(1, 180)
        if warm is None:
            raise SystemExit("the streaming query committed nothing in 180 s")
        for n in range(1, drops + 1):
            time.sleep(1.3)  # land at different points of the trigger interval
            seen = batches()
            t0 = time.perf_counter()
            drop(n)
            waited = wait_for(seen + 1, 60)
            if waited is None:
                raise SystemExit(f"file {n} got no decisions within 60 s")
            latencies.append(round(time.perf_counter() - t0, 2))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    return {"trigger": "1 second", "posts_per_file": 100, "first_file_seconds_incl_start": round(warm, 1),
            "seconds_to_decisions": latencies, "median_s": sorted(latencies)[len(latencies) // 2],
            "max_s": max(latencies)}


def markdown(report: dict[str, Any]) -> str:
    rows = ["| posts | master | detectors | seconds | posts/s | per core vs scan | CPU s | posts per CPU s "
            "| peak RSS MB |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in report["runs"]:
        rel = r.get("per_core_vs_scan")
        rows.append(f"| {r['posts']:,} | {r['master']} | {r['detectors']} | {r['seconds']} | {r['posts_per_s']:,} "
                    f"| {'' if rel is None else f'{rel:.2f}'} | {r.get('cpu_seconds', '')} "
                    f"| {r.get('posts_per_cpu_s', '')} | {r['peak_rss_mb']:,} |")
    pin = ("each local[N] pinned to N CPUs, the scan to one (`--pin`)" if report.get("pinned")
           else "not pinned: local[1] is one task slot, its JVM threads use the other core")
    lines = [f"# bastion spark scan benchmark ({report['measured_at']})", "", f"- detectors `all`: {ALL}; {pin}",
             "", *rows, ""]
    for det, s in report["scan"].items():
        per_cpu = f", {s['posts_per_cpu_s']:,} per CPU second" if "posts_per_cpu_s" in s else ""
        lines.append(f"- `bastion scan` (one process, one core), {det}: {s['posts_per_s']:,} posts/s{per_cpu} "
                     f"on {s['posts']:,} posts")
    for key, v in report.get("scaling", {}).items():
        lines.append(f"- scaling local[1] -> local[2], {key}: {v}x")
    if "stream" in report:
        s = report["stream"]
        lines.append(f"- streaming, 1 s trigger: file to committed decisions {s['seconds_to_decisions']} s "
                     f"(median {s['median_s']}, max {s['max_s']})")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/eval/tvec-dev.jsonl"),
                    help="corpus JSON Lines whose texts the posts carry")
    ap.add_argument("--posts", default="100000", help="comma-separated post counts")
    ap.add_argument("--masters", default="local[1],local[2]")
    ap.add_argument("--detectors", default="none,all", help="none and/or all (every detector Spark runs)")
    ap.add_argument("--scan-posts", type=int, default=100_000,
                    help="posts for the single-process comparison (the first of the generated file's size)")
    ap.add_argument("--no-scan", action="store_true", help="skip the single-process comparison")
    ap.add_argument("--stream", action="store_true", help="also measure the streaming time to decisions")
    ap.add_argument("--pin", action="store_true", help="run local[N] on N CPUs and the scan on one (taskset)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the generated input goes (default: a "
                    "temporary directory)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--md", type=Path)
    args = ap.parse_args()

    bastion = str(Path(sys.executable).with_name("bastion"))
    sizes = [int(x) for x in args.posts.split(",")]
    masters = [m.strip() for m in args.masters.split(",") if m.strip()]
    settings = [d.strip() for d in args.detectors.split(",") if d.strip()]
    report: dict[str, Any] = {"data": args.data.name, "runs": [], "scan": {},
                              "cores_on_machine": os.cpu_count(), "pinned": args.pin, "all": ALL,
                              "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        if not args.no_scan:
            data = work / "scan-input.jsonl"
            generate(args.data, data, args.scan_posts)
            for det in settings:
                report["scan"][det] = scan_run(bastion, data, args.scan_posts, det, work, args.pin)
                print(json.dumps({"scan": report["scan"][det]}), flush=True)
            data.unlink()
        for posts in sizes:
            data = work / f"input-{posts}.jsonl"
            generate(args.data, data, posts)
            for det in settings:
                for master in masters:
                    run = spark_run(bastion, data, posts, master, det, work, args.pin)
                    cores = _cores(master)
                    if det in report["scan"] and cores:
                        run["per_core_vs_scan"] = round(run["posts_per_s"] / cores
                                                        / report["scan"][det]["posts_per_s"], 2)
                    report["runs"].append(run)
                    print(json.dumps(run), flush=True)
            data.unlink()
        scaling: dict[str, float] = {}
        for posts in sizes:
            for det in settings:
                rate = {r["master"]: r["posts_per_s"] for r in report["runs"]
                        if r["posts"] == posts and r["detectors"] == det}
                if "local[1]" in rate and "local[2]" in rate:
                    scaling[f"{posts} posts, {det}"] = round(rate["local[2]"] / rate["local[1]"], 2)
        report["scaling"] = scaling
        if args.stream:
            report["stream"] = stream_latency(bastion, args.data, work)
            print(json.dumps({"stream": report["stream"]}), flush=True)
    text = json.dumps(report, indent=2) + "\n"
    print(markdown(report))
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    if args.md:
        args.md.write_text(markdown(report), encoding="utf-8")


def _cores(master: str) -> int | None:
    if master.startswith("local[") and master[6:-1].isdigit():
        return int(master[6:-1])
    if master == "local":
        return 1
    return None


if __name__ == "__main__":
    main()
