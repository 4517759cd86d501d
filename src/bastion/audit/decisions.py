"""Tamper evidence for decisions: content hashes per decision, digests per audited batch."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import Engine, select

from bastion.canonical import canonical
from bastion.store.schema import audit_log, decisions

#: Decision columns covered by the content hash (everything but the hash itself and the audit link).
HASHED_COLUMNS = ("id", "subject_kind", "subject_id", "account_id", "policy", "policy_version", "category",
                  "enforced", "explanation", "scores", "labels", "actions", "shadow_actions", "versions",
                  "signals")


def content_hash(row: Mapping[str, Any]) -> str:
    body = {k: row[k] for k in HASHED_COLUMNS}
    body["created_at"] = row["created_at"].isoformat()
    body["enforced"] = bool(body["enforced"])  # SQLite gives 0/1 back
    return hashlib.sha256(canonical(body)).hexdigest()


def batch_digest(hashes: Iterable[tuple[str, str]]) -> str:
    """Digest over (decision id, content hash) pairs, in id order."""
    h = hashlib.sha256()
    for did, ch in sorted(hashes):
        h.update(f"{did}:{ch}\n".encode())
    return h.hexdigest()


def verify_decisions(engine: Engine) -> list[str]:
    """Recompute every decision's content hash and every batch digest recorded in the audit log."""
    problems: list[str] = []
    by_seq: dict[int, list[tuple[str, str]]] = {}
    cols = [decisions.c[k] for k in (*HASHED_COLUMNS, "created_at", "content_hash", "audit_seq")]
    with engine.connect() as conn:
        for r in conn.execute(select(*cols)):
            row: Mapping[str, Any] = dict(r._mapping)
            if content_hash(row) != row["content_hash"]:
                problems.append(f"decision {row['id']}: content does not match its hash (altered)")
            by_seq.setdefault(int(row["audit_seq"] or 0), []).append((row["id"], row["content_hash"]))
        batches = conn.execute(select(audit_log.c.seq, audit_log.c.payload)
                               .where(audit_log.c.event == "decisions.batch")).all()
    recorded = set()
    for seq, payload in batches:
        body = orjson.loads(payload)
        recorded.add(int(seq))
        got = by_seq.get(int(seq), [])
        if len(got) != body.get("count") or batch_digest(got) != body.get("digest"):
            problems.append(f"audit entry {seq}: decisions of this batch were altered, added or removed "
                            f"({len(got)} found, {body.get('count')} recorded)")
    for seq in sorted(set(by_seq) - recorded):
        problems.append(f"{len(by_seq[seq])} decision(s) claim audit entry {seq}, which records no batch")
    return problems
