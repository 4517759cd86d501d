"""A case's chain of custody: an append-only, hash-chained log per case.

Each entry's hash is ``sha256(prev_hash || canonical_json(case_id, seq, ts, actor, event, details))``, so
editing, removing, inserting or reordering any entry breaks every hash after it. The log travels with an
exported case (``custody.jsonl``) and :func:`verify_chain` checks it there the same way as in the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

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
    if now.tzinfo is None:
        raise ValueError("custody timestamps must be timezone-aware")
    last = conn.execute(
        select(threat_custody.c.seq, threat_custody.c.hash)
        .where(threat_custody.c.case_id == case_id)
        .order_by(threat_custody.c.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (int(last.seq) + 1, str(last.hash)) if last else (1, GENESIS)
    ts = now.isoformat(timespec="microseconds")
    body = _canonical(dict(details)).decode()
    h = entry_hash(prev, case_id, seq, ts, actor, event, body)
    conn.execute(
        threat_custody.insert().values(
            case_id=case_id, seq=seq, ts=ts, actor=actor, event=event, details=body, prev_hash=prev, hash=h
        )
    )
    return seq


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
    for e in entries:
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
