"""Review queues: counts and SLA clocks, and leases so that two reviewers never work the same job.

Order of work: priority first (an authority's removal order has priority 0), then the earliest deadline,
then the oldest job. ``lease_next`` without a queue takes the most urgent job across every queue the
reviewer may work, which is how a removal order jumps the queue.

A lease is a compare-and-set ``UPDATE ... WHERE state is open or the lease expired``: whoever's update
matches the row holds it, on SQLite and PostgreSQL alike, without row locks held across requests. A lease
expires (``ttl``) so a reviewer who walks away does not block a job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from bastion.audit.log import AuditLog
from bastion.errors import NotFound
from bastion.review.model import SECURITY_QUEUES, Job, LeaseConflict, ReviewError, sla_for
from bastion.store.attest import tracked
from bastion.store.schema import review_jobs as J

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class QueueSummary:
    queue: str
    open: int
    leased: int
    overdue: int
    next_due: datetime | None
    done_today: int

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"queue": self.queue, "open": self.open, "leased": self.leased, "overdue": self.overdue,
                "done_today": self.done_today,
                "next_due": self.next_due.isoformat() if self.next_due else None,
                "seconds_left": int((self.next_due - now).total_seconds()) if self.next_due else None}


def _available(now: datetime) -> Any:
    return or_(J.c.state == "open", and_(J.c.state == "leased", J.c.lease_expires < now))


def _order() -> tuple[Any, ...]:
    return (J.c.priority.asc(), J.c.deadline.asc().nulls_last(), J.c.created_at.asc(), J.c.id.asc())


def summaries(engine: Engine, now: datetime, *, queues: Iterable[str] | None = None) -> list[QueueSummary]:
    """Per-queue counts, most urgent first (a queue holding a removal order sorts to the top)."""
    wanted = set(queues) if queues is not None else None
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[QueueSummary] = []
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(select(J.c.queue).distinct())]
        for q in sorted(names):
            if wanted is not None and q not in wanted:
                continue
            active = J.c.state.in_(("open", "leased"))
            counts: dict[str, int] = dict(conn.execute(select(J.c.state, func.count()).where(J.c.queue == q, active)
                                       .group_by(J.c.state)).all())
            sla_cutoff = now - sla_for(q)
            overdue = conn.execute(select(func.count()).where(
                J.c.queue == q, active,
                or_(J.c.deadline < now, and_(J.c.deadline.is_(None), J.c.created_at < sla_cutoff)))).scalar_one()
            first = conn.execute(select(J.c.deadline, J.c.created_at).where(J.c.queue == q, active)
                                 .order_by(J.c.deadline.asc().nulls_last(), J.c.created_at).limit(1)).first()
            next_due = None
            if first is not None:
                explicit = first.deadline
                oldest = conn.execute(select(func.min(J.c.created_at)).where(J.c.queue == q, active)).scalar_one()
                implicit = oldest + sla_for(q) if oldest else None
                next_due = min(d for d in (explicit, implicit) if d is not None)
            done = conn.execute(select(func.count()).where(J.c.queue == q, J.c.state == "done",
                                                           J.c.decided_at >= day_start)).scalar_one()
            if not counts and not done:
                continue
            out.append(QueueSummary(q, int(counts.get("open", 0)), int(counts.get("leased", 0)), int(overdue),
                                    next_due, int(done)))
    out.sort(key=lambda s: (s.next_due is None, s.next_due or now, s.queue))
    return out


def get_job(engine: Engine | Connection, job_id: str) -> Job:
    stmt = select(J).where(J.c.id == job_id)
    if isinstance(engine, Connection):
        row = engine.execute(stmt).first()
    else:
        with engine.connect() as conn:
            row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no review job {job_id}")
    return Job.from_row(row)


def list_jobs(engine: Engine, *, queue: str | None = None, state: str | None = "open", limit: int = 100,
              exclude_queues: Iterable[str] = ()) -> list[Job]:
    stmt = select(J).order_by(*_order()).limit(limit)
    if queue:
        stmt = stmt.where(J.c.queue == queue)
    if state:
        stmt = stmt.where(J.c.state == state)
    excluded = list(exclude_queues)
    if excluded:
        stmt = stmt.where(J.c.queue.not_in(excluded))
    with engine.connect() as conn:
        return [Job.from_row(r) for r in conn.execute(stmt)]


def held_by(engine: Engine, actor: str, now: datetime, queue: str | None = None) -> Job | None:
    stmt = select(J).where(J.c.state == "leased", J.c.lease_owner == actor, J.c.lease_expires >= now)
    if queue:
        stmt = stmt.where(J.c.queue == queue)
    with engine.connect() as conn:
        row = conn.execute(stmt.order_by(*_order()).limit(1)).first()
    return Job.from_row(row) if row else None


def lease_next(engine: Engine, actor: str, now: datetime, *, queue: str | None = None,
               ttl: timedelta = DEFAULT_LEASE, security: bool = False, tries: int = 20) -> Job | None:
    """Lease the most urgent available job (in ``queue``, or across the reviewer's queues).

    A reviewer who already holds a live lease gets that job back: one job at a time per person.
    """
    mine = held_by(engine, actor, now, queue)
    if mine is not None:
        return mine
    for _ in range(tries):
        pick = select(J.c.id).where(_available(now)).order_by(*_order()).limit(1)
        if queue:
            pick = pick.where(J.c.queue == queue)
        elif security:
            pick = pick.where(J.c.queue.in_(SECURITY_QUEUES))
        else:
            pick = pick.where(J.c.queue.not_in(SECURITY_QUEUES))
        with engine.begin() as conn:
            row = conn.execute(pick).first()
            if row is None:
                return None
            if _cas(conn, row[0], actor, now, ttl):
                AuditLog().append(conn, "review.lease", actor, f"job:{row[0]}",
                                  {"ttl_s": int(ttl.total_seconds())}, now=now)
                return get_job(conn, row[0])
    return None  # pragma: no cover - only under extreme contention


def lease(engine: Engine, job_id: str, actor: str, now: datetime, *, ttl: timedelta = DEFAULT_LEASE) -> Job:
    """Lease one named job; renew it if the actor already holds it."""
    with engine.begin() as conn:
        job = get_job(conn, job_id)
        if job.state == "done":
            raise ReviewError(f"job {job_id} is already decided ({job.outcome} by another review)")
        if job.state == "leased" and job.lease_owner == actor:
            with tracked(conn, J, [job_id]):
                conn.execute(update(J).where(J.c.id == job_id).values(lease_expires=now + ttl))
            return get_job(conn, job_id)
        if not _cas(conn, job_id, actor, now, ttl):
            raise LeaseConflict(f"job {job_id} is being reviewed by someone else")
        AuditLog().append(conn, "review.lease", actor, f"job:{job_id}", {"ttl_s": int(ttl.total_seconds())}, now=now)
        return get_job(conn, job_id)


def release(engine: Engine, job_id: str, actor: str, now: datetime) -> None:
    with engine.begin() as conn:
        with tracked(conn, J, [job_id]):
            n = conn.execute(update(J).where(J.c.id == job_id, J.c.state == "leased", J.c.lease_owner == actor)
                             .values(state="open", lease_owner=None, lease_expires=None)).rowcount
        if n:
            AuditLog().append(conn, "review.release", actor, f"job:{job_id}", {}, now=now)


def release_all(engine: Engine, actor: str, now: datetime) -> int:
    """Give back every job the actor holds (sign-out, a break)."""
    with engine.begin() as conn:
        held = [r[0] for r in conn.execute(select(J.c.id).where(J.c.state == "leased", J.c.lease_owner == actor))]
        with tracked(conn, J, held):
            n = int(conn.execute(update(J).where(J.c.id.in_(held))
                                 .values(state="open", lease_owner=None, lease_expires=None)).rowcount) if held else 0
        if n:
            AuditLog().append(conn, "review.release_all", actor, None, {"jobs": n}, now=now)
    return n


def require_lease(conn: Connection, job_id: str, actor: str, now: datetime) -> Job:
    """The job, if ``actor`` holds a live lease on it (or it is open and can be leased on the spot)."""
    job = get_job(conn, job_id)
    if job.state == "done":
        raise ReviewError(f"job {job_id} is already decided ({job.outcome})")
    if job.state == "leased" and job.lease_owner != actor and job.lease_expires and job.lease_expires >= now:
        raise LeaseConflict(f"job {job_id} is being reviewed by someone else")
    return job


def _cas(conn: Connection, job_id: str, actor: str, now: datetime, ttl: timedelta) -> bool:
    with tracked(conn, J, [job_id]):
        res = conn.execute(update(J).where(J.c.id == job_id, _available(now))
                           .values(state="leased", lease_owner=actor, lease_expires=now + ttl))
    return bool(res.rowcount == 1)
