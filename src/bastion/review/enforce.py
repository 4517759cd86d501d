"""What a human decision does to the platform: enforce, reverse, and tell the platform.

* **enforce** writes a ledger row (``automated = false``, ``source`` = where the item was first surfaced:
  automated detection, a user report, a trusted flagger or an authority) and applies it (post removed,
  account suspended), unless the same enforcement is already active.
* **reverse** marks every active enforcement on a subject reversed (``reversed_at``, ``reversed_by``) and
  undoes it (the post's ``removed_at`` cleared, the account's status restored).
* **notify** puts a signed notification in the webhook outbox (the same outbox, signing and retries as the
  pipeline's decisions), keyed so it is delivered once.

All three run inside the caller's transaction, so a decision, its effects, its audit entry and its
notification commit together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bastion.review.model import ENFORCING_ACTIONS
from bastion.store import schema as t
from bastion.store.attest import tracked
from bastion.store.queries import live_enforcements

#: reporter kind -> ledger source
REPORT_SOURCES = {"user": "user_report", "trusted_flagger": "trusted_flagger", "authority": "authority"}


def review_id(*parts: str) -> str:
    return "rvw_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _insert(conn: Connection, table: Any) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def origin_of(conn: Connection, decision_id: str | None) -> tuple[str, str | None]:
    """(source, DSA category) of the decision that put a job in a queue."""
    if not decision_id:
        return "automated", None
    row = conn.execute(select(t.decisions.c.subject_kind, t.decisions.c.subject_id, t.decisions.c.category)
                       .where(t.decisions.c.id == decision_id)).first()
    if row is None:
        return "automated", None
    if row.subject_kind == "report":
        kind = conn.execute(select(t.reports.c.reporter_kind).where(t.reports.c.id == row.subject_id)).scalar()
        return REPORT_SOURCES.get(str(kind), "user_report"), row.category
    return "automated", row.category


@dataclass(frozen=True, slots=True)
class Effect:
    action: str
    target_kind: str
    target_id: str

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "target_kind": self.target_kind, "target_id": self.target_id}


def enforcement_for(subject_kind: str, subject_id: str, account_id: str | None = None) -> Effect:
    if subject_kind == "account":
        return Effect("suspend_account", "account", subject_id)
    return Effect("remove_post", "post", subject_id)


def active(conn: Connection, subject_kind: str, subject_id: str) -> list[Any]:
    """Active (not reversed) enforcing ledger rows on a subject, including those its decisions caused
    elsewhere (a post's decision that detrended its hashtags)."""
    own_decisions = select(t.decisions.c.id).where(t.decisions.c.subject_kind == subject_kind,
                                                   t.decisions.c.subject_id == subject_id)
    L = t.ledger
    return list(conn.execute(select(L).where(
        L.c.reversed_at.is_(None), L.c.action.in_(ENFORCING_ACTIONS),
        or_(and_(L.c.target_kind == subject_kind, L.c.target_id == subject_id),
            L.c.decision_id.in_(own_decisions))).order_by(L.c.seq)))


def enforce(conn: Connection, effect: Effect, *, decision_id: str, rule: str, source: str, now: datetime,
            params: Mapping[str, Any] | None = None) -> bool:
    """Record and apply ``effect`` unless it is already active; True when something changed."""
    L = t.ledger
    if (effect.action, effect.target_kind, effect.target_id) in live_enforcements(conn, [effect.target_id]):
        return False
    content_created = None
    if effect.target_kind == "post":
        content_created = conn.execute(select(t.posts.c.created_at)
                                       .where(t.posts.c.id == effect.target_id)).scalar()
    with tracked(conn, L):
        conn.execute(_insert(conn, L).on_conflict_do_nothing(), [{
            "decision_id": decision_id, "action": effect.action, "target_kind": effect.target_kind,
            "target_id": effect.target_id, "rule": rule, "policy": "human-review", "automated": False,
            "source": source, "params": dict(params) if params else None, "created_at": now,
            "content_created_at": content_created}])
    _apply(conn, effect.action, effect.target_id, now)
    return True


def _apply(conn: Connection, action: str, target_id: str, now: datetime) -> None:
    if action == "remove_post":
        with tracked(conn, t.posts, [target_id]):
            conn.execute(update(t.posts).where(t.posts.c.id == target_id, t.posts.c.removed_at.is_(None))
                         .values(removed_at=now))
    elif action == "suspend_account":
        with tracked(conn, t.accounts, [target_id]):
            conn.execute(update(t.accounts).where(t.accounts.c.id == target_id)
                         .values(status="suspended", status_changed_at=now))


def reverse(conn: Connection, subject_kind: str, subject_id: str, *, actor: str, now: datetime) -> list[Effect]:
    """Reverse every active enforcement on the subject; return what was reversed."""
    rows = active(conn, subject_kind, subject_id)
    if not rows:
        return []
    with tracked(conn, t.ledger, [r.seq for r in rows]):
        conn.execute(update(t.ledger).where(t.ledger.c.seq.in_([r.seq for r in rows]))
                     .values(reversed_at=now, reversed_by=actor))
    done: list[Effect] = []
    for r in rows:
        if r.action == "remove_post":
            with tracked(conn, t.posts, [r.target_id]):
                conn.execute(update(t.posts).where(t.posts.c.id == r.target_id).values(removed_at=None))
        elif r.action == "suspend_account":
            still = conn.execute(select(t.ledger.c.seq).where(
                t.ledger.c.target_id == r.target_id, t.ledger.c.action == "suspend_account",
                t.ledger.c.reversed_at.is_(None)).limit(1)).first()
            if still is None:
                with tracked(conn, t.accounts, [r.target_id]):
                    conn.execute(update(t.accounts).where(t.accounts.c.id == r.target_id)
                                 .values(status="active", status_changed_at=now))
        done.append(Effect(r.action, r.target_kind, r.target_id))
    return done


def notify(conn: Connection, key: str, payload: Mapping[str, Any], now: datetime) -> None:
    """Queue a notification for the platform's webhook (delivered by ``bastion webhooks deliver``)."""
    body = orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS).decode()
    with tracked(conn, t.webhook_outbox, [key]):
        conn.execute(_insert(conn, t.webhook_outbox).on_conflict_do_nothing(index_elements=["decision_id"]), [{
            "decision_id": key, "payload": body, "state": "pending", "attempts": 0, "created_at": now,
            "next_attempt_at": now}])
