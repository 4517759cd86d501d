"""Media benchmark: our PDQ index and hasher side by side with Meta's python-threatexchange, in one run.

    .venv/bin/python bench/media.py [--sizes 10000,100000,1000000] [--json OUT] [--md OUT]

For each size N: N random PDQ hashes, plus queries that are near-duplicates of indexed hashes with 0-40 bits
flipped (uniformly), at threshold 31. Each index is built and queried in its own subprocess (so memory is
measured cleanly), single-threaded (OMP/BLAS threads = 1), on the same data:

* ``ours``: :class:`bastion.media.index.mih.MIHIndex` (numpy multi-index hashing);
* ``threatexchange``: ``threatexchange.signal_type.pdq.pdq_index.PDQIndex`` (faiss IndexBinaryMultiHash),
  what HMA uses.

Figures per system: ``build_s`` (index construction from hex strings), ``rss_mb`` (resident memory the
process still holds after the build, once the caller dropped its input list, above the baseline with
libraries imported: the index and whatever of the input it keeps; python-threatexchange keeps the hex
strings),
``peak_rss_mb``, ``qps`` (one query at a time, hex string in, matches out), ``recall`` (against brute force
on the first ``--recall-queries`` queries), ``add_ms`` (adding one hash to the built index). Ours also
reports ``qps_batched`` (``search`` over batches of 256 queries).

Hashing: ``hash_images_per_s`` at 512x512 and 1024x1024 (synthetic benign JPEGs, decode included, one
core) for our PDQ hasher and for the reference path (python-threatexchange's ``pdq_from_file``: Pillow RGB
decode + ``pdqhash``), with the Hamming distance between the two hashes of each image.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

THRESHOLD = 31
MAX_FLIPS = 40


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- data --------------------------------------------------------------------------------------------------
def make_data(size: int, queries: int, recall_queries: int, seed: int, out: Path) -> dict[str, Any]:
    """Random hashes, planted near-duplicate queries, and brute-force truth for the first queries."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64, size=(size, 4), dtype=np.uint64)
    src = rng.integers(0, size, queries)
    q = words[src].copy()
    flips = rng.integers(0, MAX_FLIPS + 1, queries)
    qb = q.view(np.uint8)
    for i, k in enumerate(flips):
        for bit in rng.choice(256, int(k), replace=False):
            qb[i, bit // 8] ^= np.uint8(1 << (bit % 8))
    truth_q, truth_l = [], []
    for i in range(min(recall_queries, queries)):
        d = np.zeros(size, dtype=np.int32)
        for c in range(4):
            d += np.bitwise_count(words[:, c] ^ q[i, c])
        hits = np.flatnonzero(d <= THRESHOLD)
        truth_q.extend([i] * len(hits))
        truth_l.extend(hits.tolist())
    np.save(out / "words.npy", words)
    np.save(out / "queries.npy", q)
    np.savez(out / "truth.npz", q=np.array(truth_q, dtype=np.int64), label=np.array(truth_l, dtype=np.int64))
    return {"planted_within_threshold": int((flips <= THRESHOLD).sum()), "queries": queries,
            "truth_pairs": len(truth_q)}


def _recall(found: list[set[int]], truth_path: Path) -> float:
    t = np.load(truth_path)
    truth: dict[int, set[int]] = {}
    for qi, lab in zip(t["q"].tolist(), t["label"].tolist(), strict=True):
        truth.setdefault(qi, set()).add(lab)
    want = sum(len(v) for v in truth.values())
    got = sum(len(found[i] & truth.get(i, set())) for i in range(len(found)))
    extra = sum(len(found[i] - truth.get(i, set())) for i in range(len(found)))
    if extra:
        raise SystemExit(f"index returned {extra} results beyond the threshold")
    return got / want if want else 1.0


# -- workers (one process per system and size) -------------------------------------------------------------
def worker_ours(data: Path, recall_queries: int, adds: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from bastion.media.bits import to_hex, to_words
    from bastion.media.index.mih import MIHIndex

    qhex = to_hex(np.load(data / "queries.npy"))
    gc.collect()
    base = rss_mb()
    words = np.load(data / "words.npy")
    hexes = to_hex(words)  # the input as text, as a bank import sees it
    del words
    t = time.perf_counter()
    idx = MIHIndex.build(to_words(hexes))
    build_s = time.perf_counter() - t
    n = len(hexes)
    del hexes
    gc.collect()
    held = rss_mb() - base
    found: list[set[int]] = []
    t = time.perf_counter()
    for h in qhex:
        res = idx.query(to_words([h])[0], THRESHOLD)
        if len(found) < recall_queries:
            found.append({lab for lab, _ in res})
    qps = len(qhex) / (time.perf_counter() - t)
    qw = to_words(qhex)
    t = time.perf_counter()
    for s in range(0, len(qw), 256):
        idx.search(qw[s:s + 256], THRESHOLD)
    qps_batched = len(qw) / (time.perf_counter() - t)
    lat = []
    rng = np.random.default_rng(1)
    for i in range(adds):
        w = rng.integers(0, 2**64, size=(1, 4), dtype=np.uint64)
        t = time.perf_counter()
        idx.add(w, [n + i])
        lat.append(time.perf_counter() - t)
    found_new = idx.query(w[0], 0) == [(n + adds - 1, 0)] if adds else None
    pending = idx._np
    t = time.perf_counter()
    idx.merge()  # what the next add would pay when the pending buffer is full
    merge_s = time.perf_counter() - t
    ms = np.array(lat or [0.0]) * 1000
    return {"build_s": round(build_s, 3), "rss_mb": round(held, 1), "peak_rss_mb": round(peak_mb() - base, 1),
            "index_mb": round(idx.nbytes / 2**20, 1), "qps": round(qps, 1), "qps_batched": round(qps_batched, 1),
            "recall": _recall(found, data / "truth.npz"),
            "add_ms": {"n": adds, "mean": round(float(ms.mean()), 4), "p99": round(float(np.percentile(ms, 99)), 4),
                       "max": round(float(ms.max()), 4), "new_hash_found": found_new,
                       "merge_s": round(merge_s, 4), "merged_rows": pending}}


def worker_threatexchange(data: Path, recall_queries: int, adds: int) -> dict[str, Any]:
    import faiss
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    faiss.omp_set_num_threads(1)
    qraw = np.load(data / "queries.npy").tobytes()
    qhex = [qraw[i:i + 32].hex() for i in range(0, len(qraw), 32)]
    del qraw
    gc.collect()
    base = rss_mb()
    raw = np.load(data / "words.npy").tobytes()
    hexes = [raw[i:i + 32].hex() for i in range(0, len(raw), 32)]  # the input as text
    del raw
    t = time.perf_counter()
    idx: Any = PDQIndex(((h, i) for i, h in enumerate(hexes)))
    build_s = time.perf_counter() - t
    n = len(hexes)
    del hexes
    gc.collect()
    held = rss_mb() - base
    found: list[set[int]] = []
    t = time.perf_counter()
    for h in qhex:
        res = idx.query(h)
        if len(found) < recall_queries:
            found.append({m.metadata for m in res})
    qps = len(qhex) / (time.perf_counter() - t)
    lat = []
    rng = np.random.default_rng(1)
    for i in range(adds):
        h = rng.integers(0, 2**64, size=4, dtype=np.uint64).tobytes().hex()
        t = time.perf_counter()
        idx.add(h, n + i)
        lat.append(time.perf_counter() - t)
    ms = np.array(lat) * 1000
    return {"build_s": round(build_s, 3), "rss_mb": round(held, 1), "peak_rss_mb": round(peak_mb() - base, 1),
            "qps": round(qps, 1), "recall": _recall(found, data / "truth.npz"),
            "add_ms": {"n": adds, "mean": round(float(ms.mean()), 4), "max": round(float(ms.max()), 4)}}


# -- hashing ------------------------------------------------------------------------------------------------
def synth_images(side: int, count: int, out: Path, seed: int) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(seed + side)
    paths = []
    for i in range(count):
        base = rng.normal(size=(side // 16, side // 16, 3))
        base = (base - base.min()) / np.ptp(base) * 255
        img = Image.fromarray(base.astype(np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
        arr = np.asarray(img).astype(np.int16) + rng.integers(-12, 12, size=(side, side, 1))
        p = out / f"{side}_{i}.jpg"
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(p, quality=90)
        paths.append(p)
    return paths


def worker_hashing(images: Path, rounds: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    from bastion.media.bits import hamming
    from bastion.media.hashers.pdq import PdqHasher

    ours = PdqHasher()

    def ours_hash(p: Path) -> str:
        return ours.hash_bytes(p.read_bytes()).hash

    out: dict[str, Any] = {"ours": {}, "reference": {}, "agreement": {}}
    for side in (512, 1024):
        files = sorted(images.glob(f"{side}_*.jpg"))
        ours.hash_file(files[0]), pdq_from_file(files[0])  # warm caches
        for name, fn in (("ours", ours_hash), ("reference", lambda p: pdq_from_file(p)[0])):
            t = time.perf_counter()
            for _ in range(rounds):
                for p in files:
                    fn(p)
            out[name][str(side)] = round(rounds * len(files) / (time.perf_counter() - t), 1)
        d = [hamming(ours_hash(p), pdq_from_file(p)[0]) for p in files]
        out["agreement"][str(side)] = {"max_bits": max(d), "mean_bits": round(float(np.mean(d)), 2)}
    out["speedup"] = {s: round(out["ours"][s] / out["reference"][s], 2) for s in out["ours"]}
    return out


# -- driver -------------------------------------------------------------------------------------------------
def run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def machine() -> dict[str, Any]:
    import importlib.metadata as md

    def ver(p: str) -> str | None:
        try:
            return md.version(p)
        except md.PackageNotFoundError:
            return None

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "faiss": ver("faiss-cpu"), "threatexchange": ver("threatexchange"),
            "pdqhash": ver("pdqhash"), "loadavg_start": os.getloadavg()}


def markdown(report: dict[str, Any]) -> str:
    lines = ["| size | system | build s | RSS MB | queries/s | batched q/s | recall | add one (ms, mean) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for row in report["sizes"]:
        for name in ("ours", "threatexchange"):
            r = row.get(name)
            if not r or "build_s" not in r:
                why = (r.get("error") or r.get("skipped")) if r else "not run"
                lines.append(f"| {row['size']:,} | {name} | {why} |||||||")
                continue
            lines.append(f"| {row['size']:,} | {name} | {r['build_s']} | {r['rss_mb']} | {r['qps']} | "
                         f"{r.get('qps_batched', '')} | {r['recall']:.4f} | {r['add_ms']['mean']} |")
    h = report.get("hash_images_per_s")
    if h and "error" not in h:
        lines += ["", "| image | ours img/s | reference img/s | speed-up | max bits apart |",
                  "|---|---:|---:|---:|---:|"]
        for s in h["ours"]:
            lines.append(f"| {s}x{s} | {h['ours'][s]} | {h['reference'][s]} | {h['speedup'][s]} | "
                         f"{h['agreement'][s]['max_bits']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--recall-queries", type=int, default=500)
    ap.add_argument("--adds", type=int, default=1000, help="single-hash adds timed for our index")
    ap.add_argument("--te-adds", type=int, default=3, help="single-hash adds timed for threatexchange")
    ap.add_argument("--threatexchange-max", type=int, default=1_000_000,
                    help="largest size python-threatexchange is run at (it needs ~8 GB at 10M)")
    ap.add_argument("--images", type=int, default=20, help="images per resolution for hashing")
    ap.add_argument("--hash-rounds", type=int, default=3)
    ap.add_argument("--no-hashing", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the report here")
    ap.add_argument("--md", type=Path, help="also write a Markdown table here")
    ap.add_argument("--worker", choices=["ours", "threatexchange", "hashing"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker == "ours":
        print(json.dumps(worker_ours(args.data, args.recall_queries, args.adds)))
        return
    if args.worker == "threatexchange":
        print(json.dumps(worker_threatexchange(args.data, args.recall_queries, args.te_adds)))
        return
    if args.worker == "hashing":
        print(json.dumps(worker_hashing(args.data, args.hash_rounds)))
        return

    report: dict[str, Any] = {"machine": machine(), "threshold": THRESHOLD, "max_flips": MAX_FLIPS,
                              "queries": args.queries, "recall_queries": args.recall_queries, "sizes": []}
    common = ["--recall-queries", str(args.recall_queries)]
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
            t = time.perf_counter()
            info = make_data(size, args.queries, args.recall_queries, args.seed, Path(tmp))
            print(f"[{size:,}] data ready in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            row: dict[str, Any] = {"size": size, **info}
            row["ours"] = run_worker(["--worker", "ours", "--data", tmp, "--adds", str(args.adds), *common],
                                     timeout=3600)
            print(f"[{size:,}] ours: {row['ours']}", file=sys.stderr)
            if size <= args.threatexchange_max:
                row["threatexchange"] = run_worker(["--worker", "threatexchange", "--data", tmp, "--te-adds",
                                                    str(args.te_adds if size <= 1_000_000 else 1), *common],
                                                   timeout=7200)
                print(f"[{size:,}] threatexchange: {row['threatexchange']}", file=sys.stderr)
            else:
                row["threatexchange"] = {"skipped": f"size above --threatexchange-max {args.threatexchange_max}"}
            te = row["threatexchange"]
            if "qps" in te and "qps" in row["ours"]:
                row["qps_ratio"] = round(row["ours"]["qps"] / te["qps"], 2)
                row["qps_batched_ratio"] = round(row["ours"]["qps_batched"] / te["qps"], 2)
            report["sizes"].append(row)
    if not args.no_hashing:
        with tempfile.TemporaryDirectory(prefix="bench-media-img-") as tmp:
            for side in (512, 1024):
                synth_images(side, args.images, Path(tmp), args.seed)
            report["hash_images_per_s"] = run_worker(["--worker", "hashing", "--data", tmp, "--hash-rounds",
                                                      str(args.hash_rounds)], timeout=3600)
            print(f"hashing: {report['hash_images_per_s']}", file=sys.stderr)
    report["machine"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    else:
        print(text)
    if args.md:
        args.md.write_text(markdown(report))


if __name__ == "__main__":
    main()
