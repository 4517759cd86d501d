"""Core tables. Capabilities with tables of their own define them on the same :data:`metadata` in
``bastion/store/<capability>.py`` and add an Alembic migration on their own branch (see
``store/migrations/README.md``); ``alembic upgrade heads`` applies every branch.

Types are portable between SQLite and PostgreSQL: JSON columns, timezone-aware timestamps stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, timezone-aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        dt: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


Json = JSON().with_variant(JSON(none_as_null=True), "postgresql")

posts = Table(
    "posts", metadata,
    Column("id", String(200), primary_key=True),
    Column("account_id", String(200), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, index=True),
    Column("lang", String(16)),
    Column("hashtags", Json),
    Column("mentions", Json),
    Column("urls", Json),
    Column("media", Json),
    Column("reply_to", String(200), index=True),  # a security case collects the replies to a post
    Column("repost_of", String(200)),
    Column("quote_of", String(200)),
    Column("source", String(32), nullable=False),
    Column("meta", Json),
    Column("ingested_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
    Column("digest", String(32)),  # Post.content_digest() of this version (NULL: stored before versions)
    Column("version", Integer),  # 2, 3, ... once resubmitted with other content (NULL: the first)
)
# Earlier versions of posts resubmitted with other content (the current one is in ``posts``): every version a
# decision was made on is kept, for reviewers, appeals and the record.
post_versions = Table(
    "post_versions", metadata,
    Column("post_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(32), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime),
    Column("lang", String(16)),
    Column("hashtags", Json),
    Column("mentions", Json),
    Column("urls", Json),
    Column("media", Json),
    Column("reply_to", String(200)),
    Column("repost_of", String(200)),
    Column("quote_of", String(200)),
    Column("source", String(32), nullable=False),
    Column("meta", Json),
    Column("ingested_at", UtcDateTime, nullable=False),
    Column("superseded_at", UtcDateTime, nullable=False),
)

accounts = Table(
    "accounts", metadata,
    Column("id", String(200), primary_key=True),
    Column("handle", String(200), nullable=False, index=True),
    Column("display_name", Text),
    Column("bio", Text),
    Column("location", Text),
    Column("created_at", UtcDateTime),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("statuses", BigInteger),
    Column("verified", Boolean, nullable=False, default=False),
    Column("avatar", Json),
    Column("links", Json),
    Column("identifiers", Json),
    Column("updated_at", UtcDateTime),
    Column("source", String(32), nullable=False),
    Column("meta", Json),
    Column("status", String(16), nullable=False, default="active"),  # active | suspended
    Column("status_changed_at", UtcDateTime),
    Column("first_post_at", UtcDateTime),
    Column("ingested_at", UtcDateTime, nullable=False),
)

edges = Table(
    "edges", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("src", String(200), nullable=False, index=True),
    Column("dst", String(200), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", UtcDateTime),
    Column("post_id", String(200)),
    UniqueConstraint("src", "dst", "kind", "post_id", name="uq_edges_identity"),
)

reports = Table(
    "reports", metadata,
    Column("id", String(200), primary_key=True),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(200), nullable=False, index=True),
    Column("reporter_kind", String(32), nullable=False),
    Column("reporter_id", String(200)),
    Column("reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deadline", UtcDateTime),
)

enforcement = Table(
    "enforcement", metadata,
    Column("id", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(200), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("reason", Text),
    Column("source", String(64), nullable=False),
)

decisions = Table(
    "decisions", metadata,
    Column("id", String(64), primary_key=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(200), nullable=False, index=True),
    Column("account_id", String(200), index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("policy", String(100), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("category", String(100)),
    Column("enforced", Boolean, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("scores", Json, nullable=False),
    Column("labels", Json, nullable=False),
    Column("actions", Json, nullable=False),
    Column("shadow_actions", Json, nullable=False),
    Column("versions", Json, nullable=False),
    Column("signals", Json, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("audit_seq", BigInteger),
)

# The enforcement ledger: one row per action carried out (or reversed), idempotent by decision and action.
ledger = Table(
    "ledger", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", String(64), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(200), nullable=False, index=True),
    Column("rule", String(200), nullable=False),
    Column("policy", String(200), nullable=False),
    Column("automated", Boolean, nullable=False),
    Column("source", String(32), nullable=False),  # automated | user_report | trusted_flagger | authority | review
    Column("params", Json),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("content_created_at", UtcDateTime),
    Column("reversed_at", UtcDateTime),
    Column("reversed_by", String(200)),
    UniqueConstraint("decision_id", "action", "target_id", name="uq_ledger_effect"),
    # one live enforcement per action and target: a post is removed once, an account suspended once, however
    # many decisions (reruns, policy versions, reviewers) ask for it; a reversal frees the slot
    Index("uq_ledger_live", "action", "target_kind", "target_id", unique=True,
          sqlite_where=text("reversed_at IS NULL"), postgresql_where=text("reversed_at IS NULL")),
)

review_jobs = Table(
    "review_jobs", metadata,
    Column("id", String(64), primary_key=True),
    Column("queue", String(64), nullable=False, index=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("decision_id", String(64)),
    Column("priority", Integer, nullable=False, default=5),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deadline", UtcDateTime),
    Column("state", String(16), nullable=False, default="open"),  # open | leased | done
    Column("lease_owner", String(200)),
    Column("lease_expires", UtcDateTime),
    Column("outcome", String(32)),
    Column("decided_by", String(200)),
    Column("decided_at", UtcDateTime),
    Column("notes", Text),
    UniqueConstraint("queue", "subject_kind", "subject_id", name="uq_review_jobs_subject"),
    Index("ix_review_jobs_open", "queue", "state", "priority", "deadline"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("event", String(64), nullable=False, index=True),
    Column("subject", String(300)),
    Column("payload", Text, nullable=False),  # canonical JSON, hashed as stored
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# The chain's head, kept apart from the log so that truncating the log is detected too.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("sig", Text),  # Ed25519 over the head, when the operator configured an audit key (outside the db)
)

# The running LtHash vector of every attested table (see bastion.store.attest): the base each transaction's
# change is added to. The chain records each new vector's digest; verification never trusts this table.
audit_state = Table(
    "audit_state", metadata,
    Column("name", String(64), primary_key=True),
    Column("vec", LargeBinary, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
)

evidence_blobs = Table(
    "evidence_blobs", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("data", LargeBinary),  # NULL once purged
    Column("created_at", UtcDateTime, nullable=False),
    Column("legal_hold", Boolean, nullable=False, default=False),
    Column("retain_until", UtcDateTime),
    Column("purged_at", UtcDateTime),
)

evidence_refs = Table(
    "evidence_refs", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(200), nullable=False, index=True),
    Column("role", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("sha256", "subject_kind", "subject_id", "role", name="uq_evidence_refs_link"),
)

webhook_outbox = Table(
    "webhook_outbox", metadata,
    Column("decision_id", String(64), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False, default="pending"),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
)

quarantine = Table(
    "quarantine", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), index=True),
    Column("file", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("record_id", String(200)),
    Column("field", String(100)),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("created_at", UtcDateTime, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("inputs", Json),
    Column("stats", Json),
)

signal_stats = Table(  # per-run counters of signal values, for drift monitoring
    "signal_stats", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("signal", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("unavailable", Integer, nullable=False),
    Column("mean", Float, nullable=False),
)

detector_state = Table(  # snapshots of stateful detectors between runs (see Detector.snapshot)
    "detector_state", metadata,
    Column("name", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the audit chain's head when the snapshot was taken: posts stored after it are not in the snapshot
    Column("as_of", BigInteger),
)
