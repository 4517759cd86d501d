"""Read-side queries shared by the CLI, the API and reports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, select

from bastion.store.schema import decisions, ledger


def iter_decisions(engine: Engine, *, with_actions_only: bool = False, batch: int = 2000
                   ) -> Iterator[dict[str, Any]]:
    stmt = select(decisions).order_by(decisions.c.created_at, decisions.c.id)
    if with_actions_only:
        stmt = stmt.where(decisions.c.actions != [])
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt)
        for row in result:
            yield dict(row._mapping)


def live_enforcements(conn: Connection, target_ids: Iterable[str]) -> set[tuple[str, str, str]]:
    """(action, target kind, target id) of the live (unreversed) ledger rows on these targets: what the
    ledger's partial unique index allows once per target. The pipeline and human review both ask here."""
    found: set[tuple[str, str, str]] = set()
    ids = sorted(set(target_ids))
    for i in range(0, len(ids), 500):
        found.update((r.action, r.target_kind, r.target_id) for r in conn.execute(
            select(ledger.c.action, ledger.c.target_kind, ledger.c.target_id)
            .where(ledger.c.target_id.in_(ids[i:i + 500]), ledger.c.reversed_at.is_(None))))
    return found
