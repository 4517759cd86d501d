"""Appeals: a user contests an enforcement; a reviewer upholds or overturns it.

* An appeal names what it contests: a decision id, or the enforced subject (a post or an account). Only
  an active enforcement can be appealed, and one appeal per subject is open at a time (a resubmission
  returns the open one).
* A reviewer other than the one who made the contested human decision decides it (DSA Art. 20(6): not
  solely automated, and reviewed afresh).
* ``overturned`` reverses every active enforcement on the subject (ledger ``reversed_at``, the post
  restored, the account reinstated); both outcomes are audited and sent to the platform's webhook.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from bastion.audit.log import AuditLog
from bastion.errors import InputError, NotFound
from bastion.review import enforce as fx
from bastion.review.model import LABELS, AppealOutcome, LeaseConflict, ReviewError
from bastion.review.queues import DEFAULT_LEASE
from bastion.store import schema as t
from bastion.store.api import appeals as A
from bastion.store.api import review_decisions

MAX_REASON = 5000


def _row(conn: Connection, appeal_id: str) -> Any:
    row = conn.execute(select(A).where(A.c.id == appeal_id)).first()
    if row is None:
        raise NotFound(f"no appeal {appeal_id}")
    return row


def to_json(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for k, v in list(out.items()):
        if isinstance(v, datetime):
            out[k] = v.isoformat()
    return out


def get(engine: Engine, appeal_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return to_json(_row(conn, appeal_id))


def create(engine: Engine, *, reason: str, now: datetime, actor: str, decision_id: str | None = None,
           target_kind: str | None = None, target_id: str | None = None,
           appellant_id: str | None = None) -> tuple[dict[str, Any], bool]:
    """Open an appeal; returns (appeal, created). Raises InputError when there is nothing to appeal."""
    if not reason.strip():
        raise InputError("an appeal needs a reason")
    with engine.begin() as conn:
        if decision_id:
            d = conn.execute(select(t.decisions.c.subject_kind, t.decisions.c.subject_id, t.decisions.c.account_id)
                             .where(t.decisions.c.id == decision_id)).first()
            if d is None:
                raise NotFound(f"no decision {decision_id}")
            target_kind, target_id = d.subject_kind, d.subject_id
            if target_kind == "report":
                raise InputError("a report's decision is not appealable; appeal the enforced post or account")
        if target_kind not in ("post", "account") or not target_id:
            raise InputError("name the decision_id, or target_kind (post|account) and target_id")
        if not fx.active(conn, target_kind, target_id):
            raise InputError(f"nothing to appeal: no active enforcement on {target_kind} {target_id}")
        open_one = conn.execute(select(A).where(A.c.target_kind == target_kind, A.c.target_id == target_id,
                                                A.c.state.in_(("open", "leased")))).first()
        if open_one is not None:
            return to_json(open_one), False
        aid = "apl_" + hashlib.sha256(f"{target_kind}\x1f{target_id}\x1f{now.isoformat()}".encode()).hexdigest()[:24]
        conn.execute(A.insert().values(id=aid, decision_id=decision_id, target_kind=target_kind,
                                       target_id=target_id, appellant_id=appellant_id,
                                       reason=reason[:MAX_REASON], created_at=now, state="open"))
        AuditLog().append(conn, "appeal.create", actor, f"{target_kind}:{target_id}",
                          {"appeal": aid, "decision": decision_id}, now=now)
        return to_json(_row(conn, aid)), True


def list_open(engine: Engine, *, limit: int = 100, state: str | None = None) -> list[dict[str, Any]]:
    stmt = select(A).order_by(A.c.created_at).limit(limit)
    stmt = stmt.where(A.c.state == state) if state else stmt.where(A.c.state.in_(("open", "leased")))
    with engine.connect() as conn:
        return [to_json(r) for r in conn.execute(stmt)]


def _available(now: datetime) -> Any:
    return or_(A.c.state == "open", and_(A.c.state == "leased", A.c.lease_expires < now))


def lease(engine: Engine, appeal_id: str, actor: str, now: datetime, *,
          ttl: timedelta = DEFAULT_LEASE) -> dict[str, Any]:
    with engine.begin() as conn:
        row = _row(conn, appeal_id)
        if row.state == "decided":
            raise ReviewError(f"appeal {appeal_id} is already decided ({row.outcome})")
        _check_not_original(conn, row, actor)
        if row.state == "leased" and row.lease_owner == actor:
            conn.execute(update(A).where(A.c.id == appeal_id).values(lease_expires=now + ttl))
        else:
            n = conn.execute(update(A).where(A.c.id == appeal_id, _available(now))
                             .values(state="leased", lease_owner=actor, lease_expires=now + ttl)).rowcount
            if n != 1:
                raise LeaseConflict(f"appeal {appeal_id} is being reviewed by someone else")
            AuditLog().append(conn, "appeal.lease", actor, f"appeal:{appeal_id}", {}, now=now)
        return to_json(_row(conn, appeal_id))


def _check_not_original(conn: Connection, row: Any, actor: str) -> None:
    prior = conn.execute(select(review_decisions.c.id).where(
        review_decisions.c.subject_kind == row.target_kind, review_decisions.c.subject_id == row.target_id,
        review_decisions.c.actor == actor).limit(1)).first()
    if prior is not None:
        raise ReviewError("you made the contested decision; another reviewer must decide this appeal")


def decide(engine: Engine, appeal_id: str, actor: str, outcome: AppealOutcome | str, now: datetime, *,
           notes: str | None = None, webhook: bool = False) -> dict[str, Any]:
    outcome = AppealOutcome(outcome)
    with engine.begin() as conn:
        row = _row(conn, appeal_id)
        if row.state == "decided":
            raise ReviewError(f"appeal {appeal_id} is already decided ({row.outcome})")
        if row.state == "leased" and row.lease_owner != actor and row.lease_expires and row.lease_expires >= now:
            raise LeaseConflict(f"appeal {appeal_id} is being reviewed by someone else")
        _check_not_original(conn, row, actor)
        closed = conn.execute(update(A).where(
            A.c.id == appeal_id, A.c.state != "decided",
            or_(A.c.state == "open", A.c.lease_owner == actor, A.c.lease_expires < now)).values(
            state="decided", outcome=outcome.value, decided_by=actor, decided_at=now, notes=notes,
            lease_owner=None, lease_expires=None)).rowcount
        if closed != 1:
            raise LeaseConflict(f"appeal {appeal_id} was decided or taken by someone else")
        reversed_: list[fx.Effect] = []
        if outcome is AppealOutcome.OVERTURNED:
            reversed_ = fx.reverse(conn, row.target_kind, row.target_id, actor=actor, now=now)
        rid = fx.review_id(appeal_id, actor, outcome.value, now.isoformat())
        source, category = fx.origin_of(conn, row.decision_id)
        conn.execute(review_decisions.insert().values(
            id=rid, job_id=None, appeal_id=appeal_id, queue="appeals", subject_kind=row.target_kind,
            subject_id=row.target_id, outcome=outcome.value, actor=actor, origin=source, category=category,
            labels=[LABELS[outcome]], notes=notes, leased_at=None, created_at=now))
        payload = {"appeal": appeal_id, "outcome": outcome.value, "review": rid,
                   "reversed": [e.to_json() for e in reversed_]}
        AuditLog().append(conn, "appeal.decide", actor, f"{row.target_kind}:{row.target_id}", payload, now=now)
        if webhook:
            fx.notify(conn, appeal_id, {"type": "appeal.decided", "appeal_id": appeal_id,
                                        "target_kind": row.target_kind, "target_id": row.target_id,
                                        "outcome": outcome.value, "reversed": [e.to_json() for e in reversed_],
                                        "decided_at": now.isoformat()}, now)
        out = to_json(_row(conn, appeal_id))
        out["reversed"] = [e.to_json() for e in reversed_]
        return out
