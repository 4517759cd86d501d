"""core: the audit chain attests tables, and its head can be signed

Revision ID: 0003_audit_state
Revises: 0002_ledger_live

``audit_state`` holds each attested table's running LtHash vector (``bastion.store.attest``); ``audit_head.sig``
an Ed25519 signature over the head when an audit key is configured. Tables with rows from before this
revision are attested as they stand once the upgrade is done (store.db.attest_existing: a baseline entry).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit_state"
down_revision = "0002_ledger_live"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("vec", sa.LargeBinary(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_state")),
    )
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("sig", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("sig")
    op.drop_table("audit_state")
