"""An append-only, hash-chained audit log.

Each entry's hash is ``sha256(prev_hash || canonical_json(seq, ts, actor, event, subject, payload))``; the
chain's head (last seq and hash) is kept in a separate table. :func:`verify` recomputes the chain and reports
every altered entry (its hash no longer matches its content), removed entry (a gap in ``seq`` or a
``prev_hash`` that points elsewhere), reordered entries, and truncation (the head does not match the last
entry). Exported logs (JSON Lines) verify the same way.

Decisions are bulky and numerous, so the pipeline does not write one entry per decision: it writes one
``decisions.batch`` entry per batch holding a digest over the content hashes of the decisions in it (and each
decision row keeps its content hash and the batch's ``seq``), which makes every decision tamper-evident at a
fraction of the cost; enforcing decisions also get an entry of their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select, update

from bastion.audit.decisions import verify_decisions
from bastion.canonical import canonical
from bastion.store.driver import executemany, fetchall, is_sqlite, utc_text
from bastion.store.schema import audit_head, audit_log

GENESIS = "0" * 64


def entry_hash(prev_hash: str, seq: int, ts: str, actor: str, event: str, subject: str | None,
               payload: str) -> str:
    body = canonical({"seq": seq, "ts": ts, "actor": actor, "event": event, "subject": subject,
                      "payload": payload})
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    ts: datetime
    actor: str
    event: str
    subject: str | None
    payload: str
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": _ts(self.ts), "actor": self.actor, "event": self.event,
                "subject": self.subject, "payload": self.payload, "prev_hash": self.prev_hash,
                "hash": self.hash}


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


class AuditLog:
    """Appends to the chain inside the caller's transaction (so an entry commits with what it records)."""

    def append(self, conn: Connection, event: str, actor: str, subject: str | None,
               payload: Mapping[str, Any], *, now: datetime | None = None) -> int:
        return self.append_many(conn, [(event, actor, subject, payload)], now=now)[0]

    def append_many(self, conn: Connection, entries: Iterable[tuple[str, str, str | None, Mapping[str, Any]]],
                    *, now: datetime | None = None) -> list[int]:
        ts = (now or datetime.now(UTC)).astimezone(UTC)
        head = self._lock_head(conn)
        seq, prev = (head[0], head[1]) if head else (0, GENESIS)
        rows = []
        for event, actor, subject, payload in entries:
            seq += 1
            body = canonical(dict(payload)).decode()
            h = entry_hash(prev, seq, _ts(ts), actor, event, subject, body)
            rows.append({"seq": seq, "ts": ts, "actor": actor, "event": event, "subject": subject,
                         "payload": body, "prev_hash": prev, "hash": h})
            prev = h
        if not rows:
            return []
        if is_sqlite(conn):  # the driver directly: the chain is written on every pipeline batch
            stamp = utc_text(ts)
            executemany(conn, "INSERT INTO audit_log (seq, ts, actor, event, subject, payload, prev_hash, hash) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(r["seq"], stamp, r["actor"], r["event"], r["subject"], r["payload"], r["prev_hash"],
                          r["hash"]) for r in rows])
            executemany(conn, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1" if head else
                        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)", [(seq, prev)])
        else:
            conn.execute(audit_log.insert(), rows)
            if head:
                conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev))
            else:
                conn.execute(audit_head.insert().values(id=1, seq=seq, hash=prev))
        return [int(str(r["seq"])) for r in rows]

    @staticmethod
    def _lock_head(conn: Connection) -> tuple[int, str] | None:
        if is_sqlite(conn):
            found = fetchall(conn, "SELECT seq, hash FROM audit_head WHERE id = 1")
            return (int(found[0][0]), str(found[0][1])) if found else None
        stmt = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        return (int(row[0]), str(row[1])) if row else None


def entries(engine: Engine, *, after: int = 0, limit: int | None = None) -> Iterator[AuditEntry]:
    stmt = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
    if limit:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        for r in conn.execute(stmt):
            yield AuditEntry(r.seq, r.ts, r.actor, r.event, r.subject, r.payload, r.prev_hash, r.hash)


@dataclass
class VerifyResult:
    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(items: Iterable[Mapping[str, Any]], head: tuple[int, str] | None) -> VerifyResult:
    """Check a sequence of entries (as dicts: seq, ts, actor, event, subject, payload, prev_hash, hash)."""
    problems: list[str] = []
    prev_hash, expect_seq, n = GENESIS, 1, 0
    for item in items:
        n += 1
        seq = int(item["seq"])
        ts = item["ts"] if isinstance(item["ts"], str) else _ts(item["ts"])
        if seq != expect_seq:
            problems.append(f"entry {seq}: expected seq {expect_seq} (entries removed or reordered)")
        if item["prev_hash"] != prev_hash:
            problems.append(f"entry {seq}: does not follow the previous entry (removed, inserted or reordered)")
        recomputed = entry_hash(str(item["prev_hash"]), seq, ts, str(item["actor"]), str(item["event"]),
                                item["subject"], str(item["payload"]))
        if recomputed != item["hash"]:
            problems.append(f"entry {seq}: content does not match its hash (altered)")
        prev_hash, expect_seq = str(item["hash"]), seq + 1
    if head is not None:
        if head[0] != expect_seq - 1 or head[1] != prev_hash:
            problems.append(f"chain head says seq {head[0]}, log ends at {expect_seq - 1} (truncated or altered)")
    elif n:
        problems.append("chain head is missing")
    return VerifyResult(n, problems)


def verify(engine: Engine) -> VerifyResult:
    with engine.connect() as conn:
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    head = (int(row[0]), str(row[1])) if row else None
    result = verify_chain((e.to_json() for e in entries(engine)), head)
    if result.ok:
        result.problems.extend(verify_decisions(engine))
    return result


def export_lines(engine: Engine, *, after: int = 0) -> Iterator[bytes]:
    """The log as canonical JSON lines (entries after ``after``), ending with a ``{"head": ...}`` line. The head
    is read first and no entry past it is written, so an entry appended meanwhile cannot make the file
    inconsistent."""
    with engine.connect() as conn:
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    last = int(row[0]) if row else 0
    for e in entries(engine, after=after):
        if e.seq > last:
            break
        yield canonical(e.to_json()) + b"\n"
    yield canonical({"head": {"seq": row[0], "hash": row[1]} if row else None}) + b"\n"


def export(engine: Engine, path: Path) -> int:
    """Write the log as JSON Lines (:func:`export_lines`); returns the number of entries."""
    n = -1  # the head line is not an entry
    with path.open("wb") as fh:
        for line in export_lines(engine):
            fh.write(line)
            n += 1
    return n


def verify_file(path: Path) -> VerifyResult:
    """Verify an exported log; a line that is not valid JSON is itself a finding."""
    items: list[dict[str, Any]] = []
    head: tuple[int, str] | None = None
    problems: list[str] = []
    saw_head = False
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                problems.append(f"line {n}: not valid JSON (altered)")
                continue
            if saw_head:
                problems.append(f"line {n}: content after the head line (altered or reordered)")
            if not isinstance(obj, dict):
                problems.append(f"line {n}: not an entry (altered)")
            elif "head" in obj:
                saw_head = True
                h = obj["head"]
                try:
                    head = (int(h["seq"]), str(h["hash"])) if isinstance(h, dict) else None
                except (KeyError, TypeError, ValueError):
                    problems.append(f"line {n}: head is malformed (altered)")
            elif all(k in obj for k in ("seq", "ts", "actor", "event", "subject", "payload", "prev_hash", "hash")):
                items.append(obj)
            else:
                problems.append(f"line {n}: fields missing (altered)")
    if not saw_head:
        problems.append("head line missing (truncated)")
    try:
        result = verify_chain(items, head)
    except (KeyError, TypeError, ValueError) as exc:
        result = VerifyResult(len(items), [f"an entry is malformed (altered): {exc}"])
    result.problems[:0] = problems
    return result


__all__ = ["AuditEntry", "AuditLog", "VerifyResult", "export", "export_lines", "verify", "verify_file"]
