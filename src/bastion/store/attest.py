"""What the audit chain attests about the tables that matter, and which rows a transaction changed.

The audit chain (``bastion.audit``) records, for each table listed in :data:`COVERED`, a digest of the table's
whole attested content after every transaction that changed it. The digest is a homomorphic multiset hash
(LtHash: each row hashes to a vector of 1,024 16-bit words, and a table's vector is their sum modulo 2^16), so
a transaction updates it from the rows it changed alone: subtract the changed rows as they were, add them as
they are. ``bastion audit verify`` recomputes every table's vector from its rows, and a row edited, added or
deleted by anything but Bastion's own code (an insider with ``psql``) no longer adds up to the last digest the
chain recorded.

This module is the store's half: which columns of which tables are attested, the row hash, and the bookkeeping
of a transaction's changes. Code that changes a covered table says which rows it changes::

    with tracked(conn, schema.posts, ids):
        conn.execute(update(schema.posts).where(...))

and :mod:`bastion.audit.state` folds the vectors into the chain when the transaction commits. A statement on a
covered table outside :func:`tracked` is noticed (every statement passes :func:`note_statement`) and the
table's digest is then recomputed from scratch at commit: correct, but a full scan, so the tables that grow
(``large``) must be tracked, which the test suite enforces (``BASTION_AUDIT_STRICT=1``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Column, Connection, Table, func, select, tuple_

from bastion.canonical import canonical
from bastion.store import api as api_tables
from bastion.store import schema as t
from bastion.store import threats as threat_tables

WORDS = 1024  # LtHash16: 1,024 words of 16 bits (2 KiB per vector)
CHUNK = 500


@dataclass(frozen=True)
class Covered:
    """One attested table: the columns that identify a row, the columns that are not evidence (leases, last
    use, retry counters), and states folded together because they are not decisions (a lease is not one)."""

    table: Table
    key: tuple[str, ...]
    skip: frozenset[str] = frozenset()
    states: Mapping[str, str] = field(default_factory=dict)
    append: str | None = None  # an ever-growing integer key: rows past the last one seen are new
    large: bool = False  # grows with traffic: every write must be tracked (no full rescans)

    @property
    def columns(self) -> list[Column[Any]]:
        return [c for c in self.table.columns if c.name not in self.skip]


_LEASE = frozenset({"lease_owner", "lease_expires"})
COVERED: dict[str, Covered] = {str(c.table.name): c for c in (
    Covered(t.posts, ("id",), large=True),
    Covered(t.accounts, ("id",), large=True),
    Covered(t.post_versions, ("post_id", "version"), large=True),
    Covered(t.ledger, ("seq",), append="seq", large=True),
    Covered(t.review_jobs, ("id",), skip=_LEASE, states={"leased": "open"}, large=True),
    Covered(t.evidence_blobs, ("sha256",), large=True),
    Covered(t.evidence_refs, ("seq",), append="seq", large=True),
    Covered(t.quarantine, ("seq",), append="seq", large=True),
    Covered(t.webhook_outbox, ("decision_id",), skip=frozenset({"attempts", "last_error", "next_attempt_at"}),
            states={"sending": "pending"}, large=True),
    Covered(api_tables.api_keys, ("id",), skip=frozenset({"last_used_at"})),
    Covered(api_tables.review_decisions, ("id",)),
    Covered(api_tables.appeals, ("id",), skip=_LEASE, states={"leased": "open"}),
    # cases grow with traffic too: a barrage of threats opens and updates hundreds in a batch
    Covered(threat_tables.threat_cases, ("id",), large=True),
    Covered(threat_tables.threat_case_items, ("seq",), append="seq", large=True),
    Covered(threat_tables.threat_custody, ("case_id", "seq"), large=True),
)}

#: ``BASTION_AUDIT_STRICT=1`` (the test suite) makes an untracked write to a large covered table an error.
STRICT = os.environ.get("BASTION_AUDIT_STRICT") == "1"


class UntrackedWrite(RuntimeError):
    """A statement changed a large covered table outside :func:`tracked` (strict mode only)."""


_BINARY = (bytes, bytearray, memoryview)


def row_bytes(cov: Covered, row: Sequence[Any], names: Sequence[str]) -> bytes:
    # NULLs are left out, so that a migration adding a nullable column does not change any row's hash
    body = {n: v for n, v in zip(names, row, strict=True) if v is not None}
    for n, v in body.items():
        if isinstance(v, _BINARY):
            body[n] = "sha256:" + hashlib.sha256(bytes(v)).hexdigest()
    if cov.states and body.get("state") in cov.states:
        body["state"] = cov.states[body["state"]]
    return canonical(body)


def vectors(cov: Covered, rows: Sequence[Sequence[Any]]) -> np.ndarray:
    """The LtHash sum of ``rows`` (each a tuple in ``cov.columns`` order)."""
    if not rows:
        return np.zeros(WORDS, dtype=np.uint16)
    names = [c.name for c in cov.columns]
    prefix = f"bastion.lthash.v1\x00{cov.table.name}\x00".encode()
    raw = b"".join(hashlib.shake_128(prefix + row_bytes(cov, r, names)).digest(2 * WORDS) for r in rows)
    words = np.frombuffer(raw, dtype="<u2").reshape(len(rows), WORDS)
    total: np.ndarray = words.sum(axis=0, dtype=np.uint16)
    return total


def digest(vec: np.ndarray) -> str:
    return hashlib.sha256(vec.astype("<u2").tobytes()).hexdigest()


def _key_clause(cov: Covered, keys: Sequence[Any]) -> Any:
    if len(cov.key) == 1:
        return cov.table.c[cov.key[0]].in_(list(keys))
    return tuple_(*(cov.table.c[k] for k in cov.key)).in_([tuple(k) for k in keys])


def _raw(conn: Connection, cov: Covered, where: str = "", params: Sequence[Any] = ()) -> Any:
    """A driver cursor over the covered columns (SQLite: rows as stored, without SQLAlchemy's per-value
    processing, which costs more than the hashing; the digests only need to be stable, not typed)."""
    cols = ", ".join(f'"{c.name}"' for c in cov.columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    return cursor.execute(f'SELECT {cols} FROM "{cov.table.name}"{where}', params)


def rows_at(conn: Connection, cov: Covered, keys: Sequence[Any]) -> tuple[np.ndarray, int]:
    """The vector and number of the rows now stored under ``keys``."""
    total, n = np.zeros(WORDS, dtype=np.uint16), 0
    unique = list(dict.fromkeys(keys))
    sqlite = conn.dialect.name == "sqlite"
    for i in range(0, len(unique), CHUNK):
        chunk = unique[i:i + CHUNK]
        if not sqlite:
            found = conn.execute(select(*cov.columns).where(_key_clause(cov, chunk))).all()
        elif len(cov.key) == 1:
            found = _raw(conn, cov, f' WHERE "{cov.key[0]}" IN ({", ".join("?" * len(chunk))})', chunk).fetchall()
        else:
            row = f"({', '.join('?' * len(cov.key))})"
            found = _raw(conn, cov, f" WHERE ({', '.join(cov.key)}) IN (VALUES {', '.join([row] * len(chunk))})",
                         [v for k in chunk for v in k]).fetchall()
        total += vectors(cov, found)
        n += len(found)
    return total, n


def rows_after(conn: Connection, cov: Covered, last: int | None) -> tuple[np.ndarray, int]:
    assert cov.append is not None
    if conn.dialect.name == "sqlite":
        found = (_raw(conn, cov, f' WHERE "{cov.append}" > ?', (last,)) if last is not None
                 else _raw(conn, cov)).fetchall()
    else:
        stmt = select(*cov.columns)
        if last is not None:
            stmt = stmt.where(cov.table.c[cov.append] > last)
        found = conn.execute(stmt).all()
    return vectors(cov, found), len(found)


def last_key(conn: Connection, cov: Covered) -> int | None:
    assert cov.append is not None
    value = conn.execute(select(func.max(cov.table.c[cov.append]))).scalar()
    return None if value is None else int(value)


def table_vector(conn: Connection, cov: Covered, *, batch: int = 5000) -> tuple[np.ndarray, int]:
    """The whole table's vector and row count (a full scan: verification and baselines)."""
    total, n = np.zeros(WORDS, dtype=np.uint16), 0
    if conn.dialect.name == "sqlite":
        cursor = _raw(conn, cov)
        while part := cursor.fetchmany(batch):
            total += vectors(cov, part)
            n += len(part)
        return total, n
    result = conn.execute(select(*cov.columns).execution_options(yield_per=batch))
    for part in result.partitions(batch):
        total += vectors(cov, part)
        n += len(part)
    return total, n


# -- a transaction's changes ----------------------------------------------------------------------------------
@dataclass
class Changes:
    """What one transaction changed in covered tables (kept in ``conn.info`` until commit or rollback)."""

    delta: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    untracked: set[str] = field(default_factory=set)
    active: dict[str, int] = field(default_factory=dict)
    audited: bool = False  # an audit entry was appended (the head moved)
    clock: datetime | None = None  # the time of the last entry appended: the seal's entry shares it

    def add(self, name: str, vec: np.ndarray, rows: int) -> None:
        if name in self.delta:
            self.delta[name] += vec
        else:
            self.delta[name] = vec.copy()
        self.rows[name] = self.rows.get(name, 0) + rows

    def __bool__(self) -> bool:
        return bool(self.delta or self.untracked or self.audited)


INFO_KEY = "bastion.attest"
OFF_KEY = "bastion.attest.off"  # migrations: the schema itself is changing


def outside(conn: Connection) -> None:
    """This transaction is not Bastion's own change (a migration; a test playing an old version or an insider):
    nothing in it is attested, and its writes are not noticed."""
    conn.info[OFF_KEY] = True


def changes(conn: Connection) -> Changes:
    found = conn.info.get(INFO_KEY)
    if found is None:
        found = conn.info[INFO_KEY] = Changes()
    return found  # type: ignore[no-any-return]


def take_changes(conn: Connection) -> Changes | None:
    return conn.info.pop(INFO_KEY, None)  # type: ignore[no-any-return]


#: hook run before the first tracked change of a transaction (PostgreSQL: lock the audit head, so that the
#: rows read before and after a change are not interleaved with another writer's); set by ``bastion.audit``
on_first_change: list[Any] = []


@contextmanager
def tracked(conn: Connection, table: Table, keys: Sequence[Any] | None = None) -> Iterator[None]:
    """Statements on ``table`` inside this block change only the rows under ``keys`` (or, for an append-only
    table, ``keys=None``: only add rows past the last one)."""
    cov = COVERED.get(table.name)
    if cov is None or conn.info.get(OFF_KEY) or (keys is not None and not keys):
        yield
        return
    ch = changes(conn)
    if not ch.delta and not ch.active:
        for hook in on_first_change:
            hook(conn)
    if keys is None:
        last = last_key(conn, cov)
        ch.active[cov.table.name] = ch.active.get(cov.table.name, 0) + 1
        try:
            yield
        finally:
            ch.active[cov.table.name] -= 1
        vec, n = rows_after(conn, cov, last)
        ch.add(cov.table.name, vec, n)
        return
    before, n_before = rows_at(conn, cov, keys)
    ch.active[cov.table.name] = ch.active.get(cov.table.name, 0) + 1
    try:
        yield
    finally:
        ch.active[cov.table.name] -= 1
    after, n_after = rows_at(conn, cov, keys)
    ch.add(cov.table.name, after - before, n_after - n_before)


_WRITE = re.compile(r'^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)',
                    re.IGNORECASE)


def note_statement(conn: Connection, statement: str) -> None:
    """Every statement passes here: a write to a covered table outside :func:`tracked` is remembered."""
    m = _WRITE.match(statement)
    if m is None:
        return
    name = m[1].lower()
    cov = COVERED.get(name)
    if cov is None or conn.info.get(OFF_KEY):
        return
    ch = changes(conn)
    if ch.active.get(name):
        return
    if STRICT and cov.large:
        raise UntrackedWrite(f"{name} changed outside store.attest.tracked(): {statement.strip()[:120]}")
    ch.untracked.add(name)


__all__ = ["COVERED", "Changes", "Covered", "UntrackedWrite", "changes", "digest", "note_statement", "outside",
           "rows_at", "table_vector", "take_changes", "tracked", "vectors"]
