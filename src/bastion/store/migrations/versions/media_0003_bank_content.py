"""media: HMA bank content (the entries one submitted item produced) and its metadata

Revision ID: media_0003
Revises: media_0002

``media_bank_entries.content_id`` groups the signals one upload produced (HMA's ``bank_content_id``); NULL
means an entry is its own content. ``meta`` keeps what the submitter said about the content (HMA's
``content_id``, ``content_uri``, ``json``) and a timed disable (``disable_until_ts``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "media_0003"
down_revision = "media_0002"
branch_labels = None
depends_on = None

_json = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("media_bank_entries") as batch:
        batch.add_column(sa.Column("content_id", _id, nullable=True))
        batch.add_column(sa.Column("meta", _json, nullable=True))
        batch.create_index("ix_media_bank_entries_content_id", ["content_id"])


def downgrade() -> None:
    with op.batch_alter_table("media_bank_entries") as batch:
        batch.drop_index("ix_media_bank_entries_content_id")
        batch.drop_column("meta")
        batch.drop_column("content_id")
