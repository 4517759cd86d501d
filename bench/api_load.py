"""Load test of synchronous verdicts: ``POST /v1/posts`` against a local ``bastion serve``.

Bounded and loopback-only: the server is started on 127.0.0.1 on a free port with a scratch database, the
client sends at a fixed rate (open loop: request *i* is due at ``t0 + i / rate`` whether or not earlier
answers came back, so a slow server cannot slow the clock and hide its own latency) for at most
``--duration`` seconds and ``--max-requests`` requests, after a short warm-up. Latency is measured from the
moment a request was due, and also from the moment it was sent.

Post texts are drawn from a labelled corpus (``--texts``, the eval JSONL; read in place, never copied) or,
without one, from a few neutral sentences. ``--pin`` puts the server on the last CPU and the load generator on
the others, so the generator's own CPU never delays the server it measures. Each post has its own id and
author, so every request is a new post through the detectors, the policy and the store.

    .venv/bin/python bench/api_load.py --rate 200 --duration 30 --detectors lexicon,propaganda \\
        --texts ../shared/data/eval/tvec-dev.jsonl --json reports/api_load.json --md reports/api_load.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

NEUTRAL = ["Bread rose nicely this morning.", "The match was cancelled because of rain.",
           "New opening hours for the library from Monday.", "Our choir meets on Thursday evening.",
           "Traffic on the ring road is heavy today.", "Thanks to everyone who came to the fair."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_texts(path: str | None, n: int, seed: int) -> list[str]:
    if not path:
        return NEUTRAL
    texts = []
    with open(path, "rb") as fh:
        for line in fh:
            try:
                text = orjson.loads(line).get("text")
            except orjson.JSONDecodeError:
                continue
            if isinstance(text, str) and text.strip():
                texts.append(text[:2000])
    random.Random(seed).shuffle(texts)
    return texts[:n] or NEUTRAL


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def start_server(db: str, port: int, detectors: str, key_out: Path, cpus: set[int] | None = None
                 ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BASTION_CONFIG": str(key_out.parent / "none.toml"), "PYTHONUNBUFFERED": "1",
           "BASTION_API_RATE_INTEGRATOR": "100000/100000"}
    subprocess.run([sys.executable, "-m", "bastion.cli.main", "keys", "create", "--role", "integrator", "--db", db,
                    "--name", "load-test"], check=True, env=env, stdout=key_out.open("wb"), stderr=subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-m", "bastion.cli.main", "serve", "--db", db, "--host", "127.0.0.1",
                             "--port", str(port), "--detectors", detectors], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)


async def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"server exited: {err[-2000:]}")
            try:
                if (await client.get(f"{base}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server did not become ready")


class Http:
    """A minimal HTTP/1.1 keep-alive client (asyncio streams): a load generator must cost far less than the
    server it measures, and a general-purpose client spends more per request than this server does."""

    def __init__(self, host: str, port: int, key: str, max_connections: int) -> None:
        self.host, self.port, self.key = host, port, key
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(max_connections)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        async with self.slots:
            if self.idle:
                try:
                    return await self._exchange(self.idle.pop(), path, body)
                except ConnectionError:  # the server closed an idle keep-alive connection: once more, fresh
                    pass
            return await self._exchange(await asyncio.open_connection(self.host, self.port), path, body)

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str, body: bytes
                        ) -> tuple[int, bytes]:
        reader, writer = conn
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        try:
            writer.write(head + body)
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionResetError("connection closed by the server")
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            data = await reader.readexactly(length)
            status = int(status_line.split()[1])
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            writer.close()
            raise
        self.idle.append(conn)
        return status, data

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def server_health(url: str | None) -> dict[str, Any]:
    if not url:
        return {}
    async with httpx.AsyncClient() as c:
        data: dict[str, Any] = (await c.get(url, timeout=10)).json()
    return data


async def run_load(base: str, key: str, texts: list[str], rate: float, duration: float, max_requests: int,
                   warmup: float, tag: str, health: str | None = None) -> dict[str, Any]:
    host, port = base.split("//", 1)[1].split(":")
    if host != "127.0.0.1":
        raise SystemExit("loopback only")
    client = Http(host, int(port), key, max_connections=256)
    results: list[tuple[float, float, int, str]] = []  # (from due, from sent, status, verdict)
    errors: dict[str, int] = {}
    now_iso = datetime.now(UTC).isoformat()

    async def one(i: int, due: float, record: bool) -> None:
        body = orjson.dumps({"id": f"{tag}-{i}", "account_id": f"acct-{tag}-{i % 500}",
                             "text": texts[i % len(texts)], "created_at": now_iso})
        sent = time.perf_counter()
        try:
            status, data = await asyncio.wait_for(client.post("/v1/posts", body), timeout=10.0)
            verdict = str(orjson.loads(data).get("verdict", "")) if status == 200 else ""
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            status, verdict = -1, ""
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        done = time.perf_counter()
        if record:
            results.append((done - due, done - sent, status, verdict))

    async def phase(seconds: float, limit: int, record: bool, offset: int) -> float:
        tasks = []
        t0 = time.perf_counter()
        n = min(limit, int(seconds * rate))
        for i in range(n):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(offset + i, due, record)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0

    await phase(warmup, int(warmup * rate), False, 10_000_000)
    before = await server_health(health)
    elapsed = await phase(duration, max_requests, True, 0)
    after = await server_health(health)
    await client.close()
    lat = [r[0] * 1000 for r in results]
    svc = [r[1] * 1000 for r in results]
    ok = sum(1 for r in results if r[2] == 200)
    verdicts: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
        if r[3]:
            verdicts[r[3]] = verdicts.get(r[3], 0) + 1
    return {"requests": len(results), "ok": ok, "errors": len(results) - ok, "statuses": statuses,
            "exceptions": errors, "elapsed_s": round(elapsed, 3), "throughput_rps": round(ok / elapsed, 1),
            "latency_ms": {"p50": round(pct(lat, 0.5), 2), "p90": round(pct(lat, 0.9), 2),
                           "p99": round(pct(lat, 0.99), 2), "max": round(max(lat), 2) if lat else None,
                           "mean": round(statistics.fmean(lat), 2) if lat else None},
            "service_latency_ms": {"p50": round(pct(svc, 0.5), 2), "p99": round(pct(svc, 0.99), 2)},
            "verdicts": verdicts, "server": _server_delta(before, after, len(results))}


def _server_delta(before: dict[str, Any], after: dict[str, Any], n: int) -> dict[str, Any]:
    """Server-side figures over the measured phase: CPU time per verdict (independent of what else the
    machine runs), batches formed, time per pipeline stage."""
    if not before or not after or not n:
        return {}
    batches = after["batches"] - before["batches"]
    stages = {k: round(v - before["stage_seconds"].get(k, 0.0), 3) for k, v in after["stage_seconds"].items()}
    return {"cpu_ms_per_verdict": round(1000 * (after["cpu_s"] - before["cpu_s"]) / n, 2),
            "batches": batches, "posts_per_batch": round(n / batches, 2) if batches else None,
            "stage_ms_per_verdict": {k: round(1000 * v / n, 3) for k, v in stages.items()}}


def markdown(report: dict[str, Any]) -> str:
    r, lat = report["result"], report["result"]["latency_ms"]
    target = report["target"]
    met = r["errors"] == 0 and lat["p99"] < target["p99_ms"]
    return "\n".join([
        "# API load test: synchronous verdicts on `POST /v1/posts`", "",
        f"Command: `{report['command']}`", "",
        f"Server: `bastion serve` on 127.0.0.1, one process, SQLite (WAL), detectors `{report['detectors']}`. "
        f"Machine: {report['machine']['cpus']} CPUs, load average before the run {report['machine']['load_before']}."
        + (f" Server pinned to CPU {report['pinned']['server_cpus']}, load generator to "
           f"{report['pinned']['client_cpus']}." if report.get("pinned") else " Nothing pinned."),
        "", "| measure | value |", "|---|---|",
        f"| offered rate | {report['rate']} requests/s for {report['duration_s']} s "
        f"(after {report['warmup_s']} s warm-up) |",
        f"| requests / ok / errors | {r['requests']} / {r['ok']} / {r['errors']} |",
        f"| throughput | {r['throughput_rps']} verdicts/s |",
        f"| latency from due time p50 / p90 / p99 / max | {lat['p50']} / {lat['p90']} / {lat['p99']} / "
        f"{lat['max']} ms |",
        f"| latency from send p50 / p99 | {r['service_latency_ms']['p50']} / {r['service_latency_ms']['p99']} ms |",
        f"| verdicts | {', '.join(f'{k} {v}' for k, v in sorted(r['verdicts'].items()))} |",
        f"| server CPU per verdict | {r['server'].get('cpu_ms_per_verdict')} ms "
        f"({r['server'].get('posts_per_batch')} posts per pipeline batch) |",
        f"| target (p99 < {target['p99_ms']} ms, no errors) | {'met' if met else 'NOT met'} |", ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--duration", type=float, default=30.0, help="measured seconds (bounded)")
    ap.add_argument("--max-requests", type=int, default=20_000)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--detectors", default="lexicon,propaganda")
    ap.add_argument("--texts", default=None, help="eval JSONL to draw post texts from (read in place)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pin", action="store_true",
                    help="server on the last CPU, this load generator on the others (no CPU shared between them)")
    ap.add_argument("--json", dest="json_out", default=None)
    ap.add_argument("--md", dest="md_out", default=None)
    args = ap.parse_args()
    if args.duration > 300 or args.max_requests > 100_000:
        raise SystemExit("bounded: at most 300 s and 100000 requests")
    texts = load_texts(args.texts, 5000, args.seed)
    server_cpus: set[int] | None = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("--pin needs at least two CPUs")
        server_cpus = {cpus[-1]}
        os.sched_setaffinity(0, set(cpus[:-1]))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bastion-load-") as tmp:
        db = f"sqlite:///{tmp}/load.db"
        key_file = Path(tmp) / "key.txt"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(db, port, args.detectors, key_file, server_cpus)
        try:
            asyncio.run(wait_ready(base, proc))
            key = key_file.read_text().strip().splitlines()[-1]
            result = asyncio.run(run_load(base, key, texts, args.rate, args.duration, args.max_requests,
                                          args.warmup, f"run{int(time.time())}", health=f"{base}/healthz"))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    report = {"command": "python bench/api_load.py " + " ".join(sys.argv[1:]), "rate": args.rate,
              "duration_s": args.duration, "warmup_s": args.warmup, "detectors": args.detectors,
              "texts": "corpus" if args.texts else "neutral sentences",
              "pinned": {"server_cpus": sorted(server_cpus), "client_cpus": sorted(os.sched_getaffinity(0))}
              if server_cpus else None,
              "target": {"rate": 200, "p99_ms": 50, "errors": 0},
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_before": round(load_before, 2)},
              "measured_at": datetime.now(UTC).isoformat(), "result": result}
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    if args.md_out:
        Path(args.md_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.md_out).write_text(markdown(report), encoding="utf-8")


if __name__ == "__main__":
    main()
