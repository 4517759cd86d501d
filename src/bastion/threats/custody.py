"""A case's chain of custody: an append-only, hash-chained log per case.

Each entry's hash is ``sha256(prev_hash || canonical_json(case_id, seq, ts, actor, event, details))``, so
editing, removing, inserting or reordering any entry breaks every hash after it. The log travels with an
exported case (``custody.jsonl``) and :func:`verify_chain` checks it there the same way as in the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from bastion.store.attest import tracked
from bastion.store.threats import threat_custody

GENESIS = "0" * 64


def _canonical(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def entry_hash(prev_hash: str, case_id: str, seq: int, ts: str, actor: str, event: str, details: str) -> str:
    body = _canonical({"case_id": case_id, "seq": seq, "ts": ts, "actor": actor, "event": event, "details": details})
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def append_custody(
    conn: Connection, case_id: str, event: str, actor: str, details: Mapping[str, Any], now: datetime
) -> int:
    return append_custody_many(conn, case_id, [(event, actor, details)], now)[0]


def append_custody_many(
    conn: Connection, case_id: str, entries: Sequence[tuple[str, str, Mapping[str, Any]]], now: datetime
) -> list[int]:
    """Append ``(event, actor, details)`` entries in order: the head is read once, the rows go in one insert."""
    if now.tzinfo is None:
        raise ValueError("custody timestamps must be timezone-aware")
    if not entries:
        return []
    last = conn.execute(
        select(threat_custody.c.seq, threat_custody.c.hash)
        .where(threat_custody.c.case_id == case_id)
        .order_by(threat_custody.c.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (int(last.seq), str(last.hash)) if last else (0, GENESIS)
    ts = now.isoformat(timespec="microseconds")
    rows: list[dict[str, Any]] = []
    for event, actor, details in entries:
        seq += 1
        body = _canonical(dict(details)).decode()
        h = entry_hash(prev, case_id, seq, ts, actor, event, body)
        rows.append({"case_id": case_id, "seq": seq, "ts": ts, "actor": actor, "event": event, "details": body,
                     "prev_hash": prev, "hash": h})
        prev = h
    with tracked(conn, threat_custody, [(case_id, r["seq"]) for r in rows]):
        conn.execute(threat_custody.insert(), rows)
    return [int(r["seq"]) for r in rows]


def custody_entries(conn: Connection, case_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(threat_custody).where(threat_custody.c.case_id == case_id).order_by(threat_custody.c.seq)
    ).all()
    return [
        {
            "case_id": r.case_id,
            "seq": r.seq,
            "ts": r.ts,
            "actor": r.actor,
            "event": r.event,
            "details": r.details,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
        }
        for r in rows
    ]


def custody_count(conn: Connection, case_id: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(threat_custody).where(threat_custody.c.case_id == case_id)
        ).scalar_one()
    )


def verify_chain(entries: Iterable[Mapping[str, Any]], head: str | None = None) -> list[str]:
    """Problems found in a custody chain (empty when intact). ``head``: the expected last hash."""
    problems: list[str] = []
    prev, expect, last = GENESIS, 1, GENESIS
    fields = ("case_id", "seq", "ts", "actor", "event", "details", "prev_hash", "hash")
    for n, e in enumerate(entries, 1):
        missing = [f for f in fields if f not in e]
        if missing or not str(e.get("seq", "")).isdigit():
            problems.append(f"custody entry {n}: missing or unreadable {', '.join(missing) or 'seq'} (altered)")
            prev, expect = str(e.get("hash", prev)), expect + 1
            continue
        seq = int(e["seq"])
        if seq != expect:
            problems.append(f"custody entry {seq}: expected seq {expect} (entries removed or reordered)")
        if e["prev_hash"] != prev:
            problems.append(f"custody entry {seq}: does not follow the previous entry")
        h = entry_hash(
            str(e["prev_hash"]),
            str(e["case_id"]),
            seq,
            str(e["ts"]),
            str(e["actor"]),
            str(e["event"]),
            str(e["details"]),
        )
        if h != e["hash"]:
            problems.append(f"custody entry {seq}: content does not match its hash (altered)")
        prev, expect, last = str(e["hash"]), seq + 1, str(e["hash"])
    if head is not None and head != last:
        problems.append("custody chain does not end at the recorded head (truncated or extended)")
    return problems
