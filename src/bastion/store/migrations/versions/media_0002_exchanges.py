"""media: hash-exchange collaborations and their fetch checkpoints

Revision ID: media_0002
Revises: media_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.store.schema

revision = "media_0002"
down_revision = "media_0001"
branch_labels = None
depends_on = None

_json = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
_ts = bastion.store.schema.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "media_exchanges",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("api", sa.String(length=32), nullable=False),
        sa.Column("bank", sa.String(length=128), nullable=False),
        sa.Column("config", _json, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("last_fetch_at", _ts, nullable=True),
        sa.Column("last_status", sa.Text(), nullable=True),
        sa.Column("fetched", sa.BigInteger(), nullable=False),
        sa.Column("added", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["bank"], ["media_banks.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("media_exchanges")
