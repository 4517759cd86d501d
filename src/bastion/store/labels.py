"""The labelled-example store (migration branch ``labels``): one row per label a person gave a post, with its
provenance, fed by review decisions, appeal outcomes and imported files (``bastion.review.labels``).

A row holds the post's text and language as they were labelled, the label, where it came from (``review``,
``appeal``, ``import``), the queue and origin, when, the policy and model versions that produced the decision
being reviewed, and a reference (the review decision, appeal, or file and line). No reviewer and no author
identity: an author appears only as ``group_key``, a keyed hash that lets training keep one account's posts
on one side of a validation split and names nobody.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from bastion.store.schema import Json, UtcDateTime, metadata

labels = Table(
    "labels", metadata,
    Column("id", String(64), primary_key=True),  # digest of (source, ref): the same label twice is one row
    Column("post_id", String(200), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("lang", String(16)),
    Column("label", String(64), nullable=False),
    Column("source", String(16), nullable=False),  # review | appeal | import
    Column("queue", String(64)),
    Column("origin", String(32)),
    Column("dataset", String(100)),
    Column("ref", String(300), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("policy_version", String(100)),
    Column("model_versions", Json),
    Column("group_key", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_labels_decided_at", "decided_at"),
)
