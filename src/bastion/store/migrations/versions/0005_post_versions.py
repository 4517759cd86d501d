"""core: a post resubmitted with other content is a new version; the earlier ones are kept

Revision ID: 0005_post_versions
Revises: 0004_state_as_of

``posts.digest`` / ``posts.version`` say which version the row holds (NULL: a post stored before this revision,
its first version); ``post_versions`` keeps every earlier version. Existing rows are not rewritten (their
attested content stays as it was: NULL columns are not part of a row's hash).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bastion.store.schema import Json, UtcDateTime

revision = "0005_post_versions"
down_revision = "0004_state_as_of"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("digest", sa.String(32), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=True))
    op.create_table(
        "post_versions",
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("hashtags", Json, nullable=True),
        sa.Column("mentions", Json, nullable=True),
        sa.Column("urls", Json, nullable=True),
        sa.Column("media", Json, nullable=True),
        sa.Column("reply_to", sa.String(200), nullable=True),
        sa.Column("repost_of", sa.String(200), nullable=True),
        sa.Column("quote_of", sa.String(200), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("meta", Json, nullable=True),
        sa.Column("ingested_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "version", name=op.f("pk_post_versions")),
    )


def downgrade() -> None:
    op.drop_table("post_versions")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("version")
        batch.drop_column("digest")
