"""Read-side queries shared by the CLI, the API and reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select

from bastion.store.schema import decisions


def iter_decisions(engine: Engine, *, with_actions_only: bool = False, batch: int = 2000
                   ) -> Iterator[dict[str, Any]]:
    stmt = select(decisions).order_by(decisions.c.created_at, decisions.c.id)
    if with_actions_only:
        stmt = stmt.where(decisions.c.actions != [])
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(stmt)
        for row in result:
            yield dict(row._mapping)
