"""Tables of the people-in-the-loop capability: API keys, UI sessions, reviewer decisions, appeals and
reviewer exposure. Defined on the shared metadata; migrated by ``versions/api_*`` on branch ``api``.

* ``api_keys`` keeps only a SHA-256 of each key (keys are 256-bit random secrets, so a fast hash is enough:
  there is nothing to brute-force), its role and a display name for the audit trail.
* ``ui_sessions`` keeps only a SHA-256 of the session cookie, with the CSRF token bound to it.
* ``review_decisions`` is the history of every human decision (a job's final state lives in
  ``review_jobs``), with the API key that made it (``key_id``); the ledger rows a human decision writes
  point at its id.
* ``appeals`` are user appeals against enforcement, decided by a reviewer other than the original one.
* ``reviewer_exposure`` counts what each reviewer was shown (items, revealed media), for wellness limits.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from bastion.store.schema import Json, UtcDateTime, metadata

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("person", String(100)),  # who holds the key, where the operator names one (appeal independence)
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
)

ui_sessions = Table(
    "ui_sessions", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie value
    Column("key_id", String(32), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
)

review_decisions = Table(
    "review_decisions", metadata,
    Column("id", String(64), primary_key=True),
    Column("job_id", String(64), index=True),
    Column("appeal_id", String(64), index=True),
    Column("queue", String(64), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(200), nullable=False, index=True),
    Column("outcome", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("key_id", String(32)),  # the deciding API key; NULL on rows from before api_0002
    Column("origin", String(32), nullable=False),  # automated | user_report | trusted_flagger | authority
    Column("category", String(100)),
    Column("labels", Json),
    Column("notes", Text),
    Column("leased_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)

appeals = Table(
    "appeals", metadata,
    Column("id", String(64), primary_key=True),
    Column("decision_id", String(64), index=True),
    Column("target_kind", String(16), nullable=False),
    Column("target_id", String(200), nullable=False, index=True),
    Column("appellant_id", String(200)),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # open | leased | decided
    Column("lease_owner", String(200)),
    Column("lease_expires", UtcDateTime),
    Column("outcome", String(16)),  # upheld | overturned
    Column("decided_by", String(200)),
    Column("decided_at", UtcDateTime),
    Column("notes", Text),
    Index("ix_appeals_open", "state", "created_at"),
)

reviewer_exposure = Table(
    "reviewer_exposure", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(200), nullable=False),
    Column("kind", String(32), nullable=False),  # item | media_reveal | break
    Column("subject", String(300)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("seconds", BigInteger),
    Index("ix_reviewer_exposure_actor", "actor", "created_at"),
)
