"""api: API keys, UI sessions, review decisions, appeals, reviewer exposure

Revision ID: api_0001
Revises: 0001_core
Create Date: 2026-11-29 14:42:54.492580
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.store.schema

revision = 'api_0001'
down_revision = '0001_core'
branch_labels = ('api',)
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('revoked_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys'))
    )
    op.create_table('appeals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('decision_id', sa.String(length=64), nullable=True),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=200), nullable=False),
    sa.Column('appellant_id', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index('ix_appeals_open', ['state', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_target_id'), ['target_id'], unique=False)

    op.create_table('review_decisions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('appeal_id', sa.String(length=64), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('labels', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('leased_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_decisions'))
    )
    with op.batch_alter_table('review_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_decisions_appeal_id'), ['appeal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_decisions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_decisions_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_decisions_subject_id'), ['subject_id'], unique=False)

    op.create_table('reviewer_exposure',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_reviewer_exposure'))
    )
    with op.batch_alter_table('reviewer_exposure', schema=None) as batch_op:
        batch_op.create_index('ix_reviewer_exposure_actor', ['actor', 'created_at'], unique=False)

    op.create_table('ui_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ui_sessions'))
    )
    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ui_sessions_key_id'), ['key_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ui_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ui_sessions_key_id'))

    op.drop_table('ui_sessions')
    with op.batch_alter_table('reviewer_exposure', schema=None) as batch_op:
        batch_op.drop_index('ix_reviewer_exposure_actor')

    op.drop_table('reviewer_exposure')
    with op.batch_alter_table('review_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_decisions_subject_id'))
        batch_op.drop_index(batch_op.f('ix_review_decisions_job_id'))
        batch_op.drop_index(batch_op.f('ix_review_decisions_created_at'))
        batch_op.drop_index(batch_op.f('ix_review_decisions_appeal_id'))

    op.drop_table('review_decisions')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_target_id'))
        batch_op.drop_index('ix_appeals_open')
        batch_op.drop_index(batch_op.f('ix_appeals_decision_id'))

    op.drop_table('appeals')
    op.drop_table('api_keys')
