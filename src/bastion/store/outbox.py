"""The webhook outbox: decisions with actions, written in the batch's own transaction, for the webhook sink
(:mod:`bastion.actions.webhook`) to deliver - so a decision is never delivered without being stored, nor stored
without being queued."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from bastion.policy.model import Decision
from bastion.store.attest import tracked
from bastion.store.schema import webhook_outbox


def enqueue(conn: Connection, decisions: Iterable[Decision], now: datetime) -> int:
    """Queue every decision that has actions, once per decision id (a rerun queues nothing twice)."""
    rows = [{"decision_id": d.id, "payload": orjson.dumps(d.to_json()).decode(), "state": "pending",
             "attempts": 0, "created_at": now, "next_attempt_at": now} for d in decisions if d.actions]
    if not rows:
        return 0
    ins = postgresql.insert(webhook_outbox) if conn.dialect.name == "postgresql" else sqlite.insert(webhook_outbox)
    with tracked(conn, webhook_outbox, [r["decision_id"] for r in rows]):
        conn.execute(ins.on_conflict_do_nothing(index_elements=["decision_id"]), rows)
    return len(rows)
