"""The model registry (migration branch ``models``): every model version Bastion may score with, its bytes,
its card, and which one is live or in shadow (``bastion.models.registry``).

The bytes live in the store, not on one machine's disk, so every worker and every host scores with the same
file; its SHA-256 is checked whenever it is read back. At most one model of a kind is ``live`` and at most one
is ``shadow``; ``live_since``/``live_until`` keep the order of promotions for rollback.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, LargeBinary, String, Table

from bastion.store.schema import Json, UtcDateTime, metadata

models = Table(
    "models", metadata,
    Column("version", String(200), primary_key=True),
    Column("kind", String(32), nullable=False),  # text
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("card", Json),
    Column("status", String(16), nullable=False),  # candidate | live | shadow | retired | rolled_back
    Column("created_at", UtcDateTime, nullable=False),
    Column("live_since", UtcDateTime),
    Column("live_until", UtcDateTime),
)
