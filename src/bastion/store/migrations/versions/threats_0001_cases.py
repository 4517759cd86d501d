"""threats: security cases, case items, chain of custody

Revision ID: threats_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.store.schema

revision = "threats_0001"
down_revision = "0001_core"
branch_labels = ("threats",)
depends_on = None

_json = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
_ts = bastion.store.schema.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "threat_cases",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("assets", _json, nullable=False),
        sa.Column("hashtags", _json, nullable=False),
        sa.Column("fingerprint", _json, nullable=False),
        sa.Column("subject_post_id", sa.String(length=200), nullable=False),
        sa.Column("subject_account_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("updated_at", _ts, nullable=False),
        sa.Column("sla_due", _ts, nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("removed_at", _ts, nullable=True),
        sa.Column("retain_until", _ts, nullable=True),
        sa.Column("purged_at", _ts, nullable=True),
        sa.Column("summary", _json, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threat_cases")),
    )
    op.create_index("ix_threat_cases_queue", "threat_cases", ["queue", "status", "sla_due"])
    op.create_index(op.f("ix_threat_cases_subject_account_id"), "threat_cases", ["subject_account_id"])
    op.create_table(
        "threat_case_items",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("added_at", _ts, nullable=False),
        sa.Column("details", _json, nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_threat_case_items")),
        sa.UniqueConstraint("case_id", "role", "sha256", name="uq_threat_case_items_blob"),
    )
    op.create_index(op.f("ix_threat_case_items_case_id"), "threat_case_items", ["case_id"])
    op.create_table(
        "threat_custody",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name=op.f("pk_threat_custody")),
    )


def downgrade() -> None:
    op.drop_table("threat_custody")
    op.drop_index(op.f("ix_threat_case_items_case_id"), table_name="threat_case_items")
    op.drop_table("threat_case_items")
    op.drop_index(op.f("ix_threat_cases_subject_account_id"), table_name="threat_cases")
    op.drop_index("ix_threat_cases_queue", table_name="threat_cases")
    op.drop_table("threat_cases")
