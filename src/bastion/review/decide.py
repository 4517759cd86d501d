"""Reviewer decisions on jobs, one at a time or in bulk for a campaign.

Each decision, in one transaction: checks the reviewer holds the job's lease, records the decision
(``review_decisions``), applies its effect (enforce on ``uphold``; reverse on ``overturn``, ``journalism``
and ``counter_speech``; open a security case on ``escalate``), closes the job, appends an audit entry and,
when the platform has a webhook, queues a notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from bastion.audit.log import AuditLog
from bastion.review import enforce as fx
from bastion.review import labels
from bastion.review.model import LABELS, LEARNING_QUEUE, Job, LeaseConflict, Outcome, ReviewError
from bastion.review.queues import get_job, require_lease
from bastion.store import schema as t
from bastion.store.api import review_decisions
from bastion.store.attest import tracked

log = logging.getLogger(__name__)

#: Opens a security case for a subject inside the caller's transaction; returns the case id. Provided by
#: the threats capability when installed (see :mod:`bastion.review.security`).
CaseOpener = Callable[[Connection, str, str, str, str, datetime], str]


@dataclass(frozen=True, slots=True)
class DecisionResult:
    id: str
    job_id: str
    outcome: str
    enforced: list[fx.Effect] = field(default_factory=list)
    reversed: list[fx.Effect] = field(default_factory=list)
    case_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "job_id": self.job_id, "outcome": self.outcome,
                "enforced": [e.to_json() for e in self.enforced],
                "reversed": [e.to_json() for e in self.reversed], "case_id": self.case_id}


def decide(engine: Engine, job_id: str, actor: str, outcome: Outcome | str, now: datetime, *,
           notes: str | None = None, webhook: bool = False, open_case: CaseOpener | None = None,
           bulk: str | None = None, key_id: str | None = None) -> DecisionResult:
    """Decide a leased job as ``actor``; ``key_id`` (the caller's API key) is recorded on the decision, so an
    appeal against it refuses that key rather than every key bearing the actor's name."""
    outcome = Outcome(outcome)
    with engine.begin() as conn:
        job = require_lease(conn, job_id, actor, now)
        return _decide(conn, job, actor, outcome, now, notes=notes, webhook=webhook, open_case=open_case,
                       bulk=bulk, key_id=key_id)


def _settle_siblings(conn: Connection, job: Job, actor: str, outcome: Outcome, now: datetime) -> list[str]:
    """A post sampled for the learning queue often has a policy review job from the same decision too: one
    person's decision settles both (the open, unleased sibling is closed with the same outcome and a note), so
    nobody reviews the post twice. Jobs of other decisions, and pairs without a learning job, are left alone."""
    J = t.review_jobs
    siblings = conn.execute(select(J.c.id, J.c.queue).where(
        J.c.decision_id == job.decision_id, J.c.subject_kind == job.subject_kind,
        J.c.subject_id == job.subject_id, J.c.id != job.id, J.c.state == "open",
        or_(J.c.lease_owner.is_(None), J.c.lease_expires < now))).all()
    ids = [r.id for r in siblings if LEARNING_QUEUE in (job.queue, r.queue)]
    if ids:
        with tracked(conn, J, ids):
            conn.execute(update(J).where(J.c.id.in_(ids), J.c.state == "open").values(
                state="done", outcome=outcome.value, decided_by=actor, decided_at=now,
                notes=f"settled by the decision on {job.id}", lease_owner=None, lease_expires=None))
    return ids


def _decide(conn: Connection, job: Job, actor: str, outcome: Outcome, now: datetime, *, notes: str | None,
            webhook: bool, open_case: CaseOpener | None, bulk: str | None,
            key_id: str | None = None) -> DecisionResult:
    # Close the job first, as a compare-and-set: of two reviewers racing on one job, one update matches.
    J = t.review_jobs
    with tracked(conn, J, [job.id]):
        closed = conn.execute(update(J).where(
            J.c.id == job.id, J.c.state != "done",
            or_(J.c.state == "open", J.c.lease_owner == actor, J.c.lease_expires < now)).values(
            state="done", outcome=outcome.value, decided_by=actor, decided_at=now, notes=notes,
            lease_owner=None, lease_expires=None)).rowcount
    if closed != 1:
        raise LeaseConflict(f"job {job.id} was decided or taken by someone else")
    settled = _settle_siblings(conn, job, actor, outcome, now)
    source, category = fx.origin_of(conn, job.decision_id)
    rid = fx.review_id(job.id, actor, outcome.value, now.isoformat())
    enforced: list[fx.Effect] = []
    reversed_: list[fx.Effect] = []
    case_id: str | None = None
    if outcome is Outcome.UPHOLD:
        effect = fx.enforcement_for(job.subject_kind, job.subject_id)
        if fx.enforce(conn, effect, decision_id=rid, rule=f"review:{job.queue}", source=source, now=now):
            enforced.append(effect)
    elif outcome is Outcome.ESCALATE:
        case_id = (open_case or _security_job)(conn, job.subject_kind, job.subject_id, actor,
                                               notes or f"escalated from {job.queue}", now)
    else:
        reversed_ = fx.reverse(conn, job.subject_kind, job.subject_id, actor=actor, now=now)
    label = LABELS.get(outcome)
    with tracked(conn, review_decisions, [rid]):
        conn.execute(review_decisions.insert().values(
            id=rid, job_id=job.id, appeal_id=None, queue=job.queue, subject_kind=job.subject_kind,
            subject_id=job.subject_id, outcome=outcome.value, actor=actor, key_id=key_id, origin=source,
            category=category, labels=[label] if label else [], notes=notes, leased_at=None, created_at=now))
    if label and job.subject_kind == "post":
        labels.record(conn, post_id=job.subject_id, label=label, source="review", ref=rid, decided_at=now,
                      queue=job.queue, origin=source)
    payload: dict[str, Any] = {"review": rid, "job": job.id, "queue": job.queue, "outcome": outcome.value,
                               "enforced": [e.to_json() for e in enforced],
                               "reversed": [e.to_json() for e in reversed_]}
    if case_id:
        payload["case"] = case_id
    if settled:
        payload["settled"] = settled
    if bulk:
        payload["bulk"] = bulk
    AuditLog().append(conn, "review.decide", actor, f"{job.subject_kind}:{job.subject_id}", payload, now=now)
    if webhook and (enforced or reversed_):
        fx.notify(conn, rid, {"type": "review.decided", "id": rid, "subject_kind": job.subject_kind,
                              "subject_id": job.subject_id, "outcome": outcome.value,
                              "enforced": [e.to_json() for e in enforced],
                              "reversed": [e.to_json() for e in reversed_], "decided_at": now.isoformat()}, now)
    return DecisionResult(rid, job.id, outcome.value, enforced, reversed_, case_id)


def _security_job(conn: Connection, subject_kind: str, subject_id: str, actor: str, note: str,
                  now: datetime) -> str:
    """Fallback escalation when no case system is installed: a job in the security queue."""
    from bastion.store.writer import job_id

    jid = job_id("security", subject_kind, subject_id)
    exists = conn.execute(select(t.review_jobs.c.id).where(t.review_jobs.c.id == jid)).first()
    if exists is None:
        with tracked(conn, t.review_jobs, [jid]):
            conn.execute(t.review_jobs.insert().values(
                id=jid, queue="security", subject_kind=subject_kind, subject_id=subject_id, decision_id=None,
                priority=1, created_at=now, deadline=None, state="open", notes=note[:2000]))
    return jid


def campaign_jobs(engine: Engine, queue: str, hashtag: str, *, limit: int = 500) -> list[Job]:
    """Open jobs in ``queue`` about posts carrying ``hashtag`` (case-insensitive)."""
    tag = hashtag.lstrip("#").lower()
    J, P = t.review_jobs, t.posts
    with engine.connect() as conn:
        rows = conn.execute(select(J, P.c.hashtags).join(P, P.c.id == J.c.subject_id).where(
            J.c.queue == queue, J.c.subject_kind == "post", J.c.state.in_(("open", "leased")))).all()
    out = []
    for r in rows:
        tags = {str(h).lower().lstrip("#") for h in (r.hashtags or [])}
        if tag in tags:
            out.append(Job.from_row(r))
        if len(out) >= limit:
            break
    return out


def bulk_decide(engine: Engine, queue: str, hashtag: str, actor: str, outcome: Outcome | str, now: datetime,
                *, notes: str | None = None, webhook: bool = False,
                open_case: CaseOpener | None = None, key_id: str | None = None) -> list[DecisionResult]:
    """Decide every open job of a campaign (posts sharing a hashtag) at once; jobs leased by another
    reviewer are left to them. ``key_id`` is recorded on each decision, as in :func:`decide`."""
    outcome = Outcome(outcome)
    results = []
    with engine.begin() as conn:
        for job in campaign_jobs(engine, queue, hashtag):
            current = get_job(conn, job.id)
            if current.state == "done" or (current.state == "leased" and current.lease_owner != actor
                                           and current.lease_expires and current.lease_expires >= now):
                continue
            results.append(_decide(conn, current, actor, outcome, now, notes=notes, webhook=webhook,
                                   open_case=open_case, bulk=f"#{hashtag.lstrip('#')}", key_id=key_id))
    if not results:
        raise ReviewError(f"no open jobs in {queue} for #{hashtag.lstrip('#')}")
    return results
