"""core: one live enforcement per action and target

Revision ID: 0002_ledger_live
Revises: 0001_core

Earlier runs could write a second live row for the same removal or suspension (a rerun after a crash, a
second decision on the same post). Those later duplicates are closed here (``reversed_by`` says why; the
first row stands), then a partial unique index keeps it so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger_live"
down_revision = "0001_core"
branch_labels = None
depends_on = None

DUPLICATE = "duplicate of an earlier live enforcement (migration 0002_ledger_live)"


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE ledger SET reversed_at = created_at, reversed_by = :why "
        "WHERE reversed_at IS NULL AND seq NOT IN ("
        "  SELECT keep FROM (SELECT MIN(seq) AS keep FROM ledger WHERE reversed_at IS NULL "
        "                    GROUP BY action, target_kind, target_id) AS firsts)").bindparams(why=DUPLICATE))
    op.create_index("uq_ledger_live", "ledger", ["action", "target_kind", "target_id"], unique=True,
                    sqlite_where=sa.text("reversed_at IS NULL"), postgresql_where=sa.text("reversed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_ledger_live", table_name="ledger")
