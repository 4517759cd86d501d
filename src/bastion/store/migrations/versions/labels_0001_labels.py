"""labels: the labelled-example store (review decisions, appeal outcomes, imported files)

Revision ID: labels_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.store.schema

revision = "labels_0001"
down_revision = "0001_core"
branch_labels = ("labels",)
depends_on = None

_json = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
_ts = bastion.store.schema.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("origin", sa.String(length=32), nullable=True),
        sa.Column("dataset", sa.String(length=100), nullable=True),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("decided_at", _ts, nullable=False),
        sa.Column("policy_version", sa.String(length=100), nullable=True),
        sa.Column("model_versions", _json, nullable=True),
        sa.Column("group_key", sa.String(length=32), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_labels_post_id", "labels", ["post_id"])
    op.create_index("ix_labels_decided_at", "labels", ["decided_at"])


def downgrade() -> None:
    op.drop_table("labels")
