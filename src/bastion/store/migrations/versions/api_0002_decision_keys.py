"""api: the deciding API key on each review decision

Revision ID: api_0002
Revises: api_0001

``review_decisions.key_id`` records which API key made a human decision (a job review or an appeal), so
appeal independence compares keys rather than key names. Rows written before this revision keep NULL and
are compared by their actor (``role:name``). ``review_decisions.subject_id`` is indexed already, which
serves the lookup by subject, so no index is added.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api_0002"
down_revision = "api_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_column("key_id")
