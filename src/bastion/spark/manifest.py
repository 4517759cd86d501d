"""Tamper evidence for a Spark job's output: a hash chain per partition and a Merkle root over them.

Each date partition of ``decisions/`` is a chain over its decisions in id order::

    h0 = sha256("bastion-spark-partition/1\\n" + date)
    hi = sha256(h(i-1) + sha256(decision JSON as stored))

and ``manifest.json`` holds every partition's count and head, and the Merkle root over the partitions' heads
(in date order; an odd node is paired with itself). The chains are computed where the data is (one task per
partition); only the heads reach the driver. ``bastion audit verify --spark DIR`` recomputes everything from
the Parquet files with pyarrow alone (no JVM): an edited, added, removed or reordered decision, a dropped or
added partition, or an edited manifest is reported. As with the local audit log, someone who rewrites the data
and the manifest together is caught only by comparing the root with the one recorded elsewhere (the store's
audit chain on load, or the job's log).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

FORMAT = "bastion-spark-manifest/1"
_SEED = b"bastion-spark-partition/1\n"
#: The partition (and directory) of the account decisions, chained like a date partition.
ACCOUNTS = "accounts"
#: The directory of the campaigns the job found (JSON Lines), vouched for by their digest in the summary.
CAMPAIGNS = "campaigns"
#: The directory of the media bank entries quarantined for flooding, vouched for likewise.
FLOODS = "floods"


def digest(decision: str) -> str:
    """A decision's link in its partition's chain: sha256 of its JSON as stored (hex)."""
    return hashlib.sha256(decision.encode("utf-8")).hexdigest()


def chain(date: str, decisions: Iterable[tuple[str, str]]) -> tuple[int, str]:
    """(count, head) of one partition's chain over ``(decision id, decision JSON)`` pairs, taken in id order."""
    return chain_digests(date, ((i, digest(text)) for i, text in decisions))


def chain_digests(date: str, digests: Iterable[tuple[str, str]]) -> tuple[int, str]:
    """:func:`chain` over ``(decision id, digest)`` pairs: what a job computes from the digests its tasks
    made, so that only ids and digests (not the decisions) travel to the task that builds a partition's chain."""
    h = hashlib.sha256(_SEED + date.encode("utf-8")).digest()
    n = 0
    for _, link in sorted(digests):
        h = hashlib.sha256(h + bytes.fromhex(link)).digest()
        n += 1
    return n, h.hex()


def lines_digest(lines: Iterable[str]) -> str:
    """sha256 (hex) of a set of JSON lines, in sorted order (however a job split them into files)."""
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def merkle_root(heads: Sequence[str]) -> str:
    """The Merkle root over partition heads (hex), in the order given."""
    level = [bytes.fromhex(h) for h in heads] or [hashlib.sha256(b"").digest()]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0].hex()


def build(partitions: Mapping[str, tuple[int, str]], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest for ``date -> (count, head)``."""
    dates = sorted(partitions)
    return {"format": FORMAT,
            "partitions": [{"date": d, "count": partitions[d][0], "head": partitions[d][1]} for d in dates],
            "merkle_root": merkle_root([partitions[d][1] for d in dates]),
            "summary": dict(summary)}


def decision_files(out: str | Path) -> Iterator[tuple[str, Path]]:
    """(partition, Parquet file) of every file of a job's decisions: ``decisions/`` by date, in date and file
    order, then the account decisions (partition ``accounts``) where the job made them."""
    for part in sorted((Path(out) / "decisions").glob("date=*")):
        date = part.name.removeprefix("date=")
        for f in sorted(part.glob("*.parquet")):
            yield date, f
    for f in sorted((Path(out) / ACCOUNTS).glob("*.parquet")):
        yield ACCOUNTS, f


def verify(out: str | Path) -> list[str]:
    """Problems found in a job's output directory (empty: intact)."""
    import pyarrow.parquet as pq

    root = Path(out)
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [f"manifest.json: {exc}"]
    if manifest.get("format") != FORMAT:
        return [f"manifest.json: format {manifest.get('format')!r}, expected {FORMAT!r}"]
    found: dict[str, list[tuple[str, str]]] = {}
    for date, f in decision_files(root):
        table = pq.read_table(f, columns=["id", "decision"])
        if table.num_rows == 0:  # (an empty dataset is written as one file without rows)
            continue
        found.setdefault(date, []).extend(zip(table.column("id").to_pylist(),
                                              table.column("decision").to_pylist(), strict=True))
    problems: list[str] = []
    listed = {p["date"]: p for p in manifest.get("partitions", [])}
    for date in sorted(set(listed) | set(found)):
        if date not in found:
            problems.append(f"partition date={date}: in the manifest, missing from decisions/")
            continue
        if date not in listed:
            problems.append(f"partition date={date}: in decisions/, not in the manifest")
            continue
        n, head = chain(date, found[date])
        if n != listed[date]["count"]:
            problems.append(f"partition date={date}: {n} decisions, the manifest says {listed[date]['count']}")
        if head != listed[date]["head"]:
            problems.append(f"partition date={date}: chain head {head[:16]}... differs from the manifest's")
    for name in (CAMPAIGNS, FLOODS):
        listed_digest = manifest.get("summary", {}).get(f"{name}_sha256")
        if listed_digest is None:
            continue
        lines = [line for f in sorted((root / name).glob("part-*")) for line in
                 f.read_text(encoding="utf-8").splitlines() if line]
        if lines_digest(lines) != listed_digest:
            problems.append(f"{name}/: {len(lines)} lines whose digest differs from the manifest's")
    root_now = merkle_root([listed[d]["head"] for d in sorted(listed)])
    if root_now != manifest.get("merkle_root"):
        problems.append("manifest.json: the Merkle root does not match the partition heads")
    return problems
