"""The audit chain's attestation of tables.

When a transaction that changed attested tables (``bastion.store.attest``) commits, ``bastion.audit.log`` seals
it: :func:`fold` adds each table's change to its running vector, and one ``audit.state`` entry recording the
new digests (and row counts) goes into the chain, inside the same transaction. So the chain says, after every
change, what each table holds; :func:`verify_tables` recomputes every table and compares it with the last digest
the chain recorded for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, Engine, select

from bastion.store import attest
from bastion.store.schema import audit_head, audit_log, audit_state

EVENT = "audit.state"


def lock_head(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(audit_head.c.seq).where(audit_head.c.id == 1).with_for_update())


attest.on_first_change.append(lock_head)


def fold(conn: Connection, ch: attest.Changes, names: list[str]) -> dict[str, Any]:
    lock_head(conn)
    have = {r.name: r for r in conn.execute(select(audit_state).where(audit_state.c.name.in_(names)))}
    head = conn.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar()
    seq = int(head or 0) + 1  # the entry about to be appended
    out: dict[str, Any] = {}
    for name in names:
        cov = attest.COVERED[name]
        old = have.get(name)
        if old is None or name in ch.untracked:  # a baseline, or a change nobody itemised: rescan
            vec, rows = attest.table_vector(conn, cov)
        else:
            vec = np.frombuffer(old.vec, dtype="<u2").astype(np.uint16) + ch.delta[name]
            rows = int(old.rows) + ch.rows.get(name, 0)
        values = {"vec": vec.astype("<u2").tobytes(), "rows": rows, "seq": seq}
        if old is None:
            conn.execute(audit_state.insert().values(name=name, **values))
        else:
            conn.execute(audit_state.update().where(audit_state.c.name == name).values(**values))
        # "from": the digest this one was computed from (None: a baseline), so that the chain's digests for a
        # table must follow on from each other: a running vector altered or deleted behind Bastion's back shows
        out[name] = {"digest": attest.digest(vec), "rows": rows,
                     "from": None if old is None else attest.digest(np.frombuffer(old.vec, dtype="<u2"))}
    return out


def attested(conn: Connection, *, upto: int | None = None,
             breaks: list[str] | None = None) -> dict[str, tuple[int, str, int]]:
    """The last digest the chain recorded for each table: ``name -> (seq, digest, rows)``; where one entry does
    not follow on from the table's previous one, a finding goes to ``breaks``."""
    stmt = select(audit_log.c.seq, audit_log.c.payload).where(audit_log.c.event == EVENT)
    if upto is not None:
        stmt = stmt.where(audit_log.c.seq <= upto)
    last: dict[str, tuple[int, str, int]] = {}
    for seq, payload in conn.execute(stmt.order_by(audit_log.c.seq)):
        for name, item in orjson.loads(payload).get("tables", {}).items():
            before = last.get(name)
            if breaks is not None and before is not None and item.get("from") != before[1]:
                breaks.append(f"table {name}: audit entry {seq} does not follow on from entry {before[0]} "
                              "(its running digest was altered or reset outside Bastion)")
            last[name] = (int(seq), str(item["digest"]), int(item["rows"]))
    return last


def current(conn: Connection) -> dict[str, tuple[str, int]]:
    """Every attested table's digest and row count as it stands."""
    out = {}
    for name, cov in attest.COVERED.items():
        vec, rows = attest.table_vector(conn, cov)
        out[name] = (attest.digest(vec), rows)
    return out


def verify_tables(engine: Engine) -> list[str]:
    """Every attested table against the last digest the chain recorded for it."""
    problems: list[str] = []
    with engine.connect() as conn:
        recorded = attested(conn, breaks=problems)
        now = current(conn)
    for name, (dig, rows) in now.items():
        if name not in recorded:
            if rows:
                problems.append(f"table {name}: {rows} row(s) the audit chain never attested (added outside "
                                "Bastion)")
            continue
        seq, want, want_rows = recorded[name]
        if dig != want:
            problems.append(f"table {name}: content differs from what audit entry {seq} attests "
                            f"({want_rows} row(s) then, {rows} now): changed outside Bastion")
    return problems


__all__ = ["EVENT", "attested", "current", "fold", "lock_head", "verify_tables"]
