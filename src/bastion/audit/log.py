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
from sqlalchemy import event as sa_event

from bastion.audit import signing, state
from bastion.audit.decisions import verify_decisions
from bastion.audit.state import fold, verify_tables
from bastion.canonical import canonical
from bastion.store import attest
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
        ch = attest.changes(conn)
        ch.audited, ch.clock = True, ts  # the head moves: signed at commit when a key is configured
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
    head: tuple[int, str] | None = None
    head_sig: str | None = None
    watched: str | None = None  # the hash of the entry at ``verify_chain(watch=...)``, if present

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(items: Iterable[Mapping[str, Any]], head: tuple[int, str] | None, *,
                 watch: int | None = None) -> VerifyResult:
    """Check a sequence of entries (as dicts: seq, ts, actor, event, subject, payload, prev_hash, hash); the
    hash of entry ``watch`` (a checkpoint's) is kept in the result."""
    problems: list[str] = []
    prev_hash, expect_seq, n = GENESIS, 1, 0
    watched = None
    for item in items:
        n += 1
        seq = int(item["seq"])
        if seq == watch:
            watched = str(item["hash"])
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
    return VerifyResult(n, problems, head=head, watched=watched)


def read_head(engine: Engine) -> tuple[tuple[int, str] | None, str | None]:
    """The chain's head (seq, hash) and its signature, if any."""
    with engine.connect() as conn:
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash, audit_head.c.sig)
                           .where(audit_head.c.id == 1)).first()
    return ((int(row[0]), str(row[1])), row[2]) if row else (None, None)


def verify(engine: Engine, *, watch: int | None = None) -> VerifyResult:
    head, sig = read_head(engine)
    result = verify_chain((e.to_json() for e in entries(engine)), head, watch=watch)
    result.head_sig = sig
    if result.ok:
        result.problems.extend(verify_decisions(engine))
        result.problems.extend(verify_tables(engine))
    return result


def export_lines(engine: Engine, *, after: int = 0) -> Iterator[bytes]:
    """The log as canonical JSON lines (entries after ``after``), ending with a ``{"head": ...}`` line. The head
    is read first and no entry past it is written, so an entry appended meanwhile cannot make the file
    inconsistent."""
    head, sig = read_head(engine)
    last = head[0] if head else 0
    for e in entries(engine, after=after):
        if e.seq > last:
            break
        yield canonical(e.to_json()) + b"\n"
    line: dict[str, Any] | None = {"seq": head[0], "hash": head[1]} if head else None
    if line is not None and sig:
        line["sig"] = sig
    yield canonical({"head": line}) + b"\n"


def export(engine: Engine, path: Path) -> int:
    """Write the log as JSON Lines (:func:`export_lines`); returns the number of entries."""
    n = -1  # the head line is not an entry
    with path.open("wb") as fh:
        for line in export_lines(engine):
            fh.write(line)
            n += 1
    return n


def verify_file(path: Path, *, watch: int | None = None) -> VerifyResult:
    """Verify an exported log; a line that is not valid JSON is itself a finding."""
    items: list[dict[str, Any]] = []
    head: tuple[int, str] | None = None
    head_sig: str | None = None
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
                    head_sig = h.get("sig") if isinstance(h, dict) else None
                    if isinstance(h, dict) and (set(h) - {"seq", "hash", "sig"} or ("sig" in h
                                                and not isinstance(head_sig, str))):
                        problems.append(f"line {n}: head is malformed (altered)")
                except (KeyError, TypeError, ValueError):
                    problems.append(f"line {n}: head is malformed (altered)")
            elif all(k in obj for k in ("seq", "ts", "actor", "event", "subject", "payload", "prev_hash", "hash")):
                items.append(obj)
            else:
                problems.append(f"line {n}: fields missing (altered)")
    if not saw_head:
        problems.append("head line missing (truncated)")
    try:
        result = verify_chain(items, head, watch=watch)
    except (KeyError, TypeError, ValueError) as exc:
        result = VerifyResult(len(items), [f"an entry is malformed (altered): {exc}"], head=head)
    result.problems[:0] = problems
    result.head_sig = head_sig if isinstance(head_sig, str) else None
    return result


# -- sealing each transaction ----------------------------------------------------------------------------------
# When a transaction that changed attested tables (bastion.store.attest) commits, its changes are folded into the
# chain (one ``audit.state`` entry) and, when an audit key is configured, the new head is signed. This runs from
# SQLAlchemy's ``commit`` event, so no code path that changes a covered table can forget it (one that does not
# say which rows it changed costs a full rescan of the table, and is an error under the test suite's strict mode).

def seal(conn: Connection) -> None:
    """Fold this transaction's changes into the chain (one ``audit.state`` entry) and sign the head."""
    ch = attest.take_changes(conn)
    if not ch:
        return
    names = sorted({n for n, d in ch.delta.items() if d.any() or ch.rows.get(n)} | ch.untracked)
    if names:
        AuditLog().append(conn, state.EVENT, "system", None, {"tables": fold(conn, ch, names)}, now=ch.clock)
    key = signing.configured_key()
    if key is not None:
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
        if row is not None:
            conn.execute(audit_head.update().where(audit_head.c.id == 1)
                         .values(sig=signing.sign_head(key, int(row[0]), str(row[1]))))
    attest.take_changes(conn)  # the entry appended here marked the transaction again


def _on_commit(conn: Connection) -> None:
    if conn.info.pop(attest.OFF_KEY, None):
        attest.take_changes(conn)
    elif attest.INFO_KEY in conn.info:
        seal(conn)


def _on_rollback(conn: Connection) -> None:
    conn.info.pop(attest.OFF_KEY, None)
    attest.take_changes(conn)


def _on_statement(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    attest.note_statement(conn, statement)


sa_event.listen(Engine, "commit", _on_commit)
sa_event.listen(Engine, "rollback", _on_rollback)
sa_event.listen(Engine, "before_cursor_execute", _on_statement)


__all__ = ["AuditEntry", "AuditLog", "VerifyResult", "export", "export_lines", "read_head", "verify", "verify_file"]
