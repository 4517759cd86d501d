"""api: the person who holds an API key

Revision ID: api_0003
Revises: api_0002

``api_keys.person`` names who holds a key, where the operator says (``bastion keys create --person``). Appeal
independence then refuses every key held by the person who made an earlier decision, not only that key.
Existing keys keep NULL (no person: compared by key id). A NULL column is not part of an attested row's
hash, so existing rows stay as attested.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "api_0003"
down_revision = "api_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("person")
