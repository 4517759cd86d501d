"""core: index posts by the post they reply to

Revision ID: 0006_posts_reply_to
Revises: 0005_post_versions

A security case collects the thread around an escalated post, replies included (``posts.reply_to = ?``);
without an index every escalation read the whole posts table. On PostgreSQL the index is built in the
migration's transaction, which holds writes to ``posts`` until it is done: on a large table, run the
migration in a quiet hour.
"""

from __future__ import annotations

from alembic import op

revision = "0006_posts_reply_to"
down_revision = "0005_post_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_posts_reply_to"), "posts", ["reply_to"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_posts_reply_to"), table_name="posts")
