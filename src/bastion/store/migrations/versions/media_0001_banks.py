"""media: hash banks and their entries

Revision ID: media_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.store.schema

revision = "media_0001"
down_revision = "0001_core"
branch_labels = ("media",)
depends_on = None

_json = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
_ts = bastion.store.schema.UtcDateTime(timezone=True)
_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media_banks",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("negative", sa.Boolean(), nullable=False),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("min_quality", sa.Integer(), nullable=False),
        sa.Column("vpdq_query_ratio", sa.Float(), nullable=False),
        sa.Column("vpdq_target_ratio", sa.Float(), nullable=False),
        sa.Column("enabled_ratio", sa.Float(), nullable=False),
        sa.Column("flood_limit", sa.Integer(), nullable=False),
        sa.Column("flood_window_s", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_media_banks")),
    )
    op.create_table(
        "media_bank_entries",
        sa.Column("id", _id, autoincrement=True, nullable=False),
        sa.Column("bank", sa.String(length=128), nullable=False),
        sa.Column("signal_type", sa.String(length=16), nullable=False),
        sa.Column("signal_key", sa.String(length=64), nullable=False),
        sa.Column("signal", sa.Text(), nullable=False),
        sa.Column("labels", _json, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("added_at", _ts, nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["bank"], ["media_banks.name"], name=op.f("fk_media_bank_entries_bank_media_banks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_bank_entries")),
        sa.UniqueConstraint("bank", "signal_type", "signal_key", name="uq_media_bank_entries_signal"),
    )
    op.create_index("ix_media_bank_entries_lookup", "media_bank_entries", ["signal_type", "signal_key"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_media_bank_entries_lookup", table_name="media_bank_entries")
    op.drop_table("media_bank_entries")
    op.drop_table("media_banks")
