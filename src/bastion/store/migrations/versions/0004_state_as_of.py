"""core: detector snapshots say which stored posts they include

Revision ID: 0004_state_as_of
Revises: 0003_audit_state

``detector_state.as_of`` is the audit chain's head when a snapshot was taken. A scan restarted after a crash
feeds the posts stored after it (by the crashed run) into the detectors as new, so the rerun's detector state,
and every decision that reads it, is the one an uninterrupted scan would have had.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_state_as_of"
down_revision = "0003_audit_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("detector_state") as batch:
        batch.add_column(sa.Column("as_of", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detector_state") as batch:
        batch.drop_column("as_of")
