"""models: the model registry (versions, bytes, cards, live and shadow)

Revision ID: models_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.store.schema

revision = "models_0001"
down_revision = "0001_core"
branch_labels = ("models",)
depends_on = None

_json = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
_ts = bastion.store.schema.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("card", _json, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("live_since", _ts, nullable=True),
        sa.Column("live_until", _ts, nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )


def downgrade() -> None:
    op.drop_table("models")
