"""Appeals: a user contests an enforcement; a reviewer upholds or overturns it.

* An appeal names what it contests: a decision id, or the enforced subject (a post or an account). Only
  an active enforcement can be appealed, and one appeal per subject is open at a time (a resubmission
  returns the open one).
* Refiling is bounded: after a decided appeal the subject waits out a cool-down (:data:`REFILE_COOLDOWN`)
  before the next, and an enforcement takes at most :data:`MAX_APPEALS` appeals (counted from the moment
  the subject's active enforcement began, so a new enforcement can be appealed afresh). Either refusal is
  a :class:`RefileRefused` that says when, if ever, a refile becomes possible.
* A reviewer other than the one who made any human decision on the subject decides it - the contested
  review and any earlier appeal's decision (DSA Art. 20(6): not solely automated, and reviewed afresh).
  "Other" means another API key, not another key name: every human decision (a job review or an appeal)
  records the deciding key in ``review_decisions.key_id``, and an appeal compares key ids. A decision that
  recorded no key id (rows from before migration ``api_0002``, or a caller that passed none) is compared
  by actor (``role:name``): every key bearing that name counts as its maker. A caller that passes no key
  id is likewise compared by actor. Where keys name the person who holds them (``keys create --person``),
  every key of the person who made an earlier decision is refused too; keys that name no person are
  compared by key alone, so two such keys one person holds are two reviewers here.
* ``overturned`` reverses every active enforcement on the subject (ledger ``reversed_at``, the post
  restored, the account reinstated); both outcomes are audited and sent to the platform's webhook.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from bastion.audit.log import AuditLog
from bastion.errors import InputError, NotFound
from bastion.review import enforce as fx
from bastion.review import labels
from bastion.review.model import LABELS, AppealOutcome, LeaseConflict, ReviewError
from bastion.review.queues import DEFAULT_LEASE
from bastion.store import schema as t
from bastion.store.api import api_keys, review_decisions
from bastion.store.api import appeals as A

MAX_REASON = 5000
#: How long after an appeal on a subject is decided before another may be filed against the same enforcement.
REFILE_COOLDOWN = timedelta(hours=24)
#: The most appeals one enforcement takes (decided or not); a new enforcement starts the count again.
MAX_APPEALS = 2


class RefileRefused(ReviewError):
    """An appeal that cannot be filed now: within the cool-down after a decided appeal (``retry_at`` says
    when it can be), or over the limit of appeals against the enforcement (``retry_at`` is None)."""

    def __init__(self, message: str, *, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at

    def retry_after(self, now: datetime) -> int | None:
        """Whole seconds from ``now`` until a refile is possible (None: not against this enforcement)."""
        if self.retry_at is None:
            return None
        return max(1, math.ceil((self.retry_at - now).total_seconds()))


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
           target_kind: str | None = None, target_id: str | None = None, appellant_id: str | None = None,
           cooldown: timedelta | None = None, max_appeals: int | None = None) -> tuple[dict[str, Any], bool]:
    """Open an appeal; returns (appeal, created). Raises InputError when there is nothing to appeal, and
    RefileRefused within ``cooldown`` (default :data:`REFILE_COOLDOWN`) of a decided appeal on the subject
    or past ``max_appeals`` (default :data:`MAX_APPEALS`) against its enforcement."""
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
        enforcing = fx.active(conn, target_kind, target_id)
        if not enforcing:
            raise InputError(f"nothing to appeal: no active enforcement on {target_kind} {target_id}")
        open_one = conn.execute(select(A).where(A.c.target_kind == target_kind, A.c.target_id == target_id,
                                                A.c.state.in_(("open", "leased")))).first()
        if open_one is not None:
            return to_json(open_one), False
        _check_refile(conn, target_kind, target_id, min(r.created_at for r in enforcing), now,
                      REFILE_COOLDOWN if cooldown is None else cooldown,
                      MAX_APPEALS if max_appeals is None else max_appeals)
        aid = "apl_" + hashlib.sha256(f"{target_kind}\x1f{target_id}\x1f{now.isoformat()}".encode()).hexdigest()[:24]
        conn.execute(A.insert().values(id=aid, decision_id=decision_id, target_kind=target_kind,
                                       target_id=target_id, appellant_id=appellant_id,
                                       reason=reason[:MAX_REASON], created_at=now, state="open"))
        AuditLog().append(conn, "appeal.create", actor, f"{target_kind}:{target_id}",
                          {"appeal": aid, "decision": decision_id}, now=now)
        return to_json(_row(conn, aid)), True


def _check_refile(conn: Connection, kind: str, target_id: str, since: datetime, now: datetime,
                  cooldown: timedelta, max_appeals: int) -> None:
    """Refuse an appeal over the limit against the enforcement in force since ``since``, or within the
    cool-down after the last decided one."""
    earlier = conn.execute(select(A.c.decided_at).where(A.c.target_kind == kind, A.c.target_id == target_id,
                                                        A.c.created_at >= since)).all()
    if len(earlier) >= max_appeals:
        raise RefileRefused(f"{kind} {target_id} has had {len(earlier)} appeals against its enforcement, the "
                            f"limit of {max_appeals}; no further appeal can be filed unless the enforcement "
                            "changes")
    decided = [r.decided_at for r in earlier if r.decided_at is not None]
    if decided and now < max(decided) + cooldown:
        retry_at = max(decided) + cooldown
        raise RefileRefused(f"an appeal on {kind} {target_id} was decided at {max(decided).isoformat()}; a new "
                            f"appeal can be filed after a cool-down of {_span(cooldown)}, from "
                            f"{retry_at.isoformat()} (at most {max_appeals} appeals per enforcement)",
                            retry_at=retry_at)


def _span(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s and s % 3600 == 0:
        return f"{s // 3600} h"
    return f"{s // 60} min" if s and s % 60 == 0 else f"{s} s"


def list_open(engine: Engine, *, limit: int = 100, state: str | None = None) -> list[dict[str, Any]]:
    stmt = select(A).order_by(A.c.created_at).limit(limit)
    stmt = stmt.where(A.c.state == state) if state else stmt.where(A.c.state.in_(("open", "leased")))
    with engine.connect() as conn:
        return [to_json(r) for r in conn.execute(stmt)]


def _available(now: datetime) -> Any:
    return or_(A.c.state == "open", and_(A.c.state == "leased", A.c.lease_expires < now))


def lease(engine: Engine, appeal_id: str, actor: str, now: datetime, *,
          ttl: timedelta = DEFAULT_LEASE, key_id: str | None = None) -> dict[str, Any]:
    """Lease an appeal to ``actor``; ``key_id`` (the caller's API key) makes the independence check compare
    key ids where the earlier decisions recorded theirs (see the module docstring)."""
    with engine.begin() as conn:
        row = _row(conn, appeal_id)
        if row.state == "decided":
            raise ReviewError(f"appeal {appeal_id} is already decided ({row.outcome})")
        _check_independent(conn, row, actor, key_id)
        if row.state == "leased" and row.lease_owner == actor:
            conn.execute(update(A).where(A.c.id == appeal_id).values(lease_expires=now + ttl))
        else:
            n = conn.execute(update(A).where(A.c.id == appeal_id, _available(now))
                             .values(state="leased", lease_owner=actor, lease_expires=now + ttl)).rowcount
            if n != 1:
                raise LeaseConflict(f"appeal {appeal_id} is being reviewed by someone else")
            AuditLog().append(conn, "appeal.lease", actor, f"appeal:{appeal_id}",
                              {"key": key_id} if key_id else {}, now=now)
        return to_json(_row(conn, appeal_id))


def _check_independent(conn: Connection, row: Any, actor: str, key_id: str | None) -> None:
    """Refuse the maker of any human decision on the appeal's subject: the contested review or an earlier
    appeal's decision. Compared by key id (``review_decisions.key_id``) where both sides have one, by actor
    otherwise; and by person where the caller's key and the earlier decision's key both name one
    (``api_keys.person``)."""
    R = review_decisions
    prior = conn.execute(select(R.c.actor, R.c.key_id, R.c.appeal_id).where(
        R.c.subject_kind == row.target_kind, R.c.subject_id == row.target_id)).all()
    if not prior:
        return
    persons = _persons(conn, {key_id} | {p.key_id for p in prior} if key_id else set())
    mine = persons.get(key_id) if key_id else None
    for p in prior:
        same = p.key_id == key_id if p.key_id and key_id else p.actor == actor
        same = same or (mine is not None and persons.get(p.key_id) == mine)
        if same:
            if p.appeal_id:
                raise ReviewError(f"you decided an earlier appeal on {row.target_kind} {row.target_id} "
                                  f"({p.appeal_id}); another reviewer must decide this appeal")
            raise ReviewError("you made the contested decision; another reviewer must decide this appeal")


def _persons(conn: Connection, key_ids: set[str | None]) -> dict[str | None, str]:
    """The person each key names, for the keys that name one."""
    ids = [k for k in key_ids if k]
    if not ids:
        return {}
    rows = conn.execute(select(api_keys.c.id, api_keys.c.person).where(
        api_keys.c.id.in_(ids), api_keys.c.person.is_not(None))).all()
    return {r.id: r.person for r in rows}


def decide(engine: Engine, appeal_id: str, actor: str, outcome: AppealOutcome | str, now: datetime, *,
           notes: str | None = None, webhook: bool = False, key_id: str | None = None) -> dict[str, Any]:
    """Decide an appeal as ``actor``; ``key_id`` (the caller's API key) is checked against the makers of
    earlier decisions on the subject and recorded on this one (``review_decisions.key_id``), so later
    appeals compare key ids."""
    outcome = AppealOutcome(outcome)
    with engine.begin() as conn:
        row = _row(conn, appeal_id)
        if row.state == "decided":
            raise ReviewError(f"appeal {appeal_id} is already decided ({row.outcome})")
        if row.state == "leased" and row.lease_owner != actor and row.lease_expires and row.lease_expires >= now:
            raise LeaseConflict(f"appeal {appeal_id} is being reviewed by someone else")
        _check_independent(conn, row, actor, key_id)
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
            subject_id=row.target_id, outcome=outcome.value, actor=actor, key_id=key_id, origin=source,
            category=category, labels=[LABELS[outcome]], notes=notes, leased_at=None, created_at=now))
        if row.target_kind == "post":
            labels.record(conn, post_id=row.target_id, label=LABELS[outcome], source="appeal", ref=rid,
                          decided_at=now, queue="appeals", origin=source)
        payload: dict[str, Any] = {"appeal": appeal_id, "outcome": outcome.value, "review": rid,
                                   "reversed": [e.to_json() for e in reversed_]}
        if key_id:
            payload["key"] = key_id
        AuditLog().append(conn, "appeal.decide", actor, f"{row.target_kind}:{row.target_id}", payload, now=now)
        if webhook:
            fx.notify(conn, appeal_id, {"type": "appeal.decided", "appeal_id": appeal_id,
                                        "target_kind": row.target_kind, "target_id": row.target_id,
                                        "outcome": outcome.value, "reversed": [e.to_json() for e in reversed_],
                                        "decided_at": now.isoformat()}, now)
        out = to_json(_row(conn, appeal_id))
        out["reversed"] = [e.to_json() for e in reversed_]
        return out
