"""Tables of the threats capability: security cases, the items in their evidence bundles, and each case's
hash-chained chain-of-custody log. Blobs themselves live in the shared evidence store
(``evidence_blobs``); items refer to them by SHA-256."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from bastion.store.schema import UtcDateTime, metadata

Json = JSON().with_variant(JSON(none_as_null=True), "postgresql")

threat_cases = Table(
    "threat_cases",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("queue", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # open | closed | purged
    Column("severity", Float, nullable=False),
    Column("level", String(16), nullable=False),
    Column("assets", Json, nullable=False),
    Column("hashtags", Json, nullable=False),
    Column("fingerprint", Json, nullable=False),  # word shingles of the threatening posts (related posts)
    Column("subject_post_id", String(200), nullable=False),
    Column("subject_account_id", String(200), index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sla_due", UtcDateTime, nullable=False),
    Column("legal_hold", Boolean, nullable=False, default=False),
    Column("removed_at", UtcDateTime),
    Column("retain_until", UtcDateTime),
    Column("purged_at", UtcDateTime),
    Column("summary", Json),
    Index("ix_threat_cases_queue", "queue", "status", "sla_due"),
)

threat_case_items = Table(
    "threat_case_items",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("details", Json),
    UniqueConstraint("case_id", "role", "sha256", name="uq_threat_case_items_blob"),
)

threat_custody = Table(
    "threat_custody",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", Text, nullable=False),  # ISO 8601 with zone, hashed as stored
    Column("actor", String(200), nullable=False),
    Column("event", String(64), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON, hashed as stored
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
