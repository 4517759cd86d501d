"""core tables

Revision ID: 0001_core
Revises: (none)
Create Date: 2026-11-29 14:31:45.185434
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.store.schema

revision = '0001_core'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('detector_state',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_detector_state'))
    )

    op.create_table('accounts',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('handle', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('location', sa.Text(), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('followers', sa.BigInteger(), nullable=True),
    sa.Column('following', sa.BigInteger(), nullable=True),
    sa.Column('statuses', sa.BigInteger(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('avatar', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('links', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('identifiers', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('updated_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_changed_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('first_post_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ingested_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_handle'), ['handle'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('ts', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_event'), ['event'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('policy', sa.String(length=100), nullable=False),
    sa.Column('policy_version', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('enforced', sa.Boolean(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('scores', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('labels', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('actions', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('shadow_actions', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('versions', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('signals', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('audit_seq', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_subject_id'), ['subject_id'], unique=False)

    op.create_table('edges',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('src', sa.String(length=200), nullable=False),
    sa.Column('dst', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('post_id', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_edges')),
    sa.UniqueConstraint('src', 'dst', 'kind', 'post_id', name='uq_edges_identity')
    )
    with op.batch_alter_table('edges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_edges_dst'), ['dst'], unique=False)
        batch_op.create_index(batch_op.f('ix_edges_src'), ['src'], unique=False)

    op.create_table('enforcement',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enforcement'))
    )
    with op.batch_alter_table('enforcement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enforcement_target_id'), ['target_id'], unique=False)

    op.create_table('evidence_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('retain_until', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('purged_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_evidence_blobs'))
    )
    op.create_table('evidence_refs',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_evidence_refs')),
    sa.UniqueConstraint('sha256', 'subject_kind', 'subject_id', 'role', name='uq_evidence_refs_link')
    )
    with op.batch_alter_table('evidence_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_refs_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_refs_subject_id'), ['subject_id'], unique=False)

    op.create_table('ledger',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('decision_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('policy', sa.String(length=200), nullable=False),
    sa.Column('automated', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('content_created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reversed_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reversed_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger')),
    sa.UniqueConstraint('decision_id', 'action', 'target_id', name='uq_ledger_effect')
    )
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_decision_id'), ['decision_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_target_id'), ['target_id'], unique=False)

    op.create_table('posts',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('lang', sa.String(length=16), nullable=True),
    sa.Column('hashtags', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('mentions', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('urls', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('media', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('reply_to', sa.String(length=200), nullable=True),
    sa.Column('repost_of', sa.String(length=200), nullable=True),
    sa.Column('quote_of', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('ingested_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posts'))
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_posts_created_at'), ['created_at'], unique=False)

    op.create_table('quarantine',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('file', sa.Text(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=True),
    sa.Column('field', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_quarantine'))
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_run_id'), ['run_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=200), nullable=False),
    sa.Column('reporter_kind', sa.String(length=32), nullable=False),
    sa.Column('reporter_id', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deadline', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_target_id'), ['target_id'], unique=False)

    op.create_table('review_jobs',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=False),
    sa.Column('decision_id', sa.String(length=64), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deadline', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_jobs')),
    sa.UniqueConstraint('queue', 'subject_kind', 'subject_id', name='uq_review_jobs_subject')
    )
    with op.batch_alter_table('review_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_review_jobs_open', ['queue', 'state', 'priority', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_jobs_queue'), ['queue'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('started_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('inputs', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.Column('stats', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    op.create_table('signal_stats',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('signal', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('unavailable', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'signal', name=op.f('pk_signal_stats'))
    )
    op.create_table('webhook_outbox',
    sa.Column('decision_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', bastion.store.schema.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('decision_id', name=op.f('pk_webhook_outbox'))
    )



def downgrade() -> None:
    op.drop_table('detector_state')

    op.drop_table('webhook_outbox')
    op.drop_table('signal_stats')
    op.drop_table('runs')
    with op.batch_alter_table('review_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_jobs_queue'))
        batch_op.drop_index('ix_review_jobs_open')

    op.drop_table('review_jobs')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_target_id'))

    op.drop_table('reports')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_run_id'))

    op.drop_table('quarantine')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posts_created_at'))
        batch_op.drop_index(batch_op.f('ix_posts_account_id'))

    op.drop_table('posts')
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_target_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_decision_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_created_at'))

    op.drop_table('ledger')
    with op.batch_alter_table('evidence_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_refs_subject_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_refs_sha256'))

    op.drop_table('evidence_refs')
    op.drop_table('evidence_blobs')
    with op.batch_alter_table('enforcement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enforcement_target_id'))

    op.drop_table('enforcement')
    with op.batch_alter_table('edges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_edges_src'))
        batch_op.drop_index(batch_op.f('ix_edges_dst'))

    op.drop_table('edges')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_subject_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_account_id'))

    op.drop_table('decisions')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_event'))

    op.drop_table('audit_log')
    op.drop_table('audit_head')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_handle'))

    op.drop_table('accounts')

