"""Decisions, review queues and jobs, reviewer decisions, and the labelled-data export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from bastion.api.errors import ApiError
from bastion.api.keys import Principal, Role
from bastion.api.schemas import BulkIn, DecisionIn
from bastion.api.security import app_state, require, roles
from bastion.review import context, decide, labels, queues, security
from bastion.review.model import SECURITY_QUEUES
from bastion.store.schema import decisions

router = APIRouter(prefix="/v1", tags=["decisions & review"])
REVIEWERS = (Role.REVIEWER, Role.SECURITY)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


@router.get("/decisions/{decision_id}", summary="One stored decision",
            **roles(Role.INTEGRATOR, Role.REVIEWER, Role.ADMIN))
def get_decision(decision_id: str, request: Request) -> dict[str, Any]:
    with app_state(request).engine.connect() as conn:
        row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
    if row is None:
        raise ApiError(404, f"no decision {decision_id}")
    return _clean(dict(row._mapping))


@router.get("/decisions", summary="Decisions about one subject, newest first",
            **roles(Role.INTEGRATOR, Role.REVIEWER, Role.ADMIN))
def list_decisions(request: Request, subject_id: str = Query(max_length=200),
                   subject_kind: str = Query("post", pattern="^(post|account|report)$"),
                   limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
    stmt = (select(decisions).where(decisions.c.subject_kind == subject_kind, decisions.c.subject_id == subject_id)
            .order_by(decisions.c.created_at.desc()).limit(limit))
    with app_state(request).engine.connect() as conn:
        return [_clean(dict(r._mapping)) for r in conn.execute(stmt)]


@router.get("/review/queues", summary="Queues with counts and SLA clocks (those the caller works; admin: all)",
            **roles(Role.REVIEWER, Role.SECURITY, Role.ADMIN))
def list_queues(request: Request, principal: Principal = Depends(require(Role.REVIEWER, Role.SECURITY, Role.ADMIN))
                ) -> list[dict[str, Any]]:
    state = app_state(request)
    now = state.clock()
    return [s.to_json(now) for s in queues.summaries(state.engine, now)
            if principal.role is Role.ADMIN or (s.queue in SECURITY_QUEUES) == (principal.role is Role.SECURITY)]


@router.get("/review/queues/{queue}/jobs", summary="Jobs of a queue, most urgent first (a queue the caller works)",
            **roles(Role.REVIEWER, Role.SECURITY, Role.ADMIN))
def queue_jobs(queue: str, request: Request, state_: str = Query("open", alias="state",
                                                                   pattern="^(open|leased|done)$"),
               limit: int = Query(100, ge=1, le=1000),
               principal: Principal = Depends(require(Role.REVIEWER, Role.SECURITY, Role.ADMIN))
               ) -> list[dict[str, Any]]:
    if principal.role is not Role.ADMIN:
        _may_work(principal, queue)  # reviewers never see the security queue, nor security the others
    state = app_state(request)
    now = state.clock()
    return [j.to_json(now) for j in queues.list_jobs(state.engine, queue=queue, state=state_, limit=limit)]


def _may_work(principal: Principal, queue: str) -> None:
    if (queue in SECURITY_QUEUES) != (principal.role is Role.SECURITY):
        raise ApiError(403, f"role {principal.role.value} does not work queue {queue}")


@router.post("/review/lease", summary="Lease the most urgent job (optionally of one queue)", **roles(*REVIEWERS))
def lease_next(request: Request, queue: str | None = Query(None, max_length=64),
               principal: Principal = Depends(require(*REVIEWERS))) -> dict[str, Any]:
    state = app_state(request)
    if queue:
        _may_work(principal, queue)
    now = state.clock()
    job = queues.lease_next(state.engine, principal.actor, now, queue=queue, ttl=state.config.lease_ttl,
                            security=principal.role is Role.SECURITY)
    if job is None:
        raise ApiError(404, "no open job", code="queue_empty")
    return job.to_json(now)


@router.get("/review/jobs/{job_id}", summary="A job with everything needed to decide it", **roles(*REVIEWERS))
def get_job(job_id: str, request: Request, principal: Principal = Depends(require(*REVIEWERS))) -> dict[str, Any]:
    state = app_state(request)
    ctx = context.load(state.engine, job_id=job_id, role=principal.role.value)
    if ctx.job is not None:
        _may_work(principal, ctx.job.queue)
    return ctx.to_json()


@router.post("/review/jobs/{job_id}/lease", summary="Lease (or renew) one job", **roles(*REVIEWERS))
def lease_job(job_id: str, request: Request, principal: Principal = Depends(require(*REVIEWERS))) -> dict[str, Any]:
    state = app_state(request)
    now = state.clock()
    _may_work(principal, queues.get_job(state.engine, job_id).queue)
    return queues.lease(state.engine, job_id, principal.actor, now, ttl=state.config.lease_ttl).to_json(now)


@router.post("/review/jobs/{job_id}/release", summary="Give a leased job back", **roles(*REVIEWERS))
def release_job(job_id: str, request: Request, principal: Principal = Depends(require(*REVIEWERS))
                ) -> dict[str, Any]:
    state = app_state(request)
    queues.release(state.engine, job_id, principal.actor, state.clock())
    return {"released": job_id}


@router.post("/review/jobs/{job_id}/decision", summary="Decide a leased job", **roles(*REVIEWERS))
def decide_job(job_id: str, body: DecisionIn, request: Request,
               principal: Principal = Depends(require(*REVIEWERS))) -> dict[str, Any]:
    state = app_state(request)
    _may_work(principal, queues.get_job(state.engine, job_id).queue)
    res = decide.decide(state.engine, job_id, principal.actor, body.outcome, state.clock(), notes=body.notes,
                        webhook=state.webhook, open_case=security.case_opener(), key_id=principal.key_id)
    return res.to_json()


@router.post("/review/bulk", summary="Decide every open job of a campaign (posts sharing a hashtag)",
             **roles(Role.REVIEWER))
def bulk(body: BulkIn, request: Request, principal: Principal = Depends(require(Role.REVIEWER))) -> dict[str, Any]:
    state = app_state(request)
    _may_work(principal, body.queue)
    results = decide.bulk_decide(state.engine, body.queue, body.hashtag, principal.actor, body.outcome,
                                 state.clock(), notes=body.notes, webhook=state.webhook,
                                 open_case=security.case_opener(), key_id=principal.key_id)
    return {"decided": len(results), "results": [r.to_json() for r in results]}


@router.get("/review/labels", summary="Reviewer decisions as labelled data (JSON Lines)", **roles(Role.ADMIN))
def export_labels(request: Request, principal: Principal = Depends(require(Role.ADMIN))) -> StreamingResponse:
    state = app_state(request)
    from bastion.audit.log import AuditLog

    with state.engine.begin() as conn:
        AuditLog().append(conn, "labels.export", principal.actor, None, {}, now=state.clock())

    def lines() -> Iterator[bytes]:
        for row in labels.iter_labels(state.engine):
            yield orjson.dumps(row) + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="review-labels.jsonl"'})
