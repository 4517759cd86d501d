"""Appeals (users contest enforcement) and security cases (the security team's work)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from bastion.api.errors import ApiError
from bastion.api.keys import Principal, Role
from bastion.api.schemas import AppealDecisionIn, AppealIn
from bastion.api.security import app_state, require, roles
from bastion.review import appeals, security

router = APIRouter(prefix="/v1", tags=["appeals & cases"])


@router.post("/appeals", summary="File a user's appeal against an enforcement", status_code=201,
             description="Refiling is bounded: within the cool-down after a decided appeal on the subject, 429 "
                         "with `Retry-After`; past the limit of appeals against the enforcement, 409.",
             **roles(Role.INTEGRATOR))
def create_appeal(body: AppealIn, request: Request, response: Response,
                  principal: Principal = Depends(require(Role.INTEGRATOR))) -> dict[str, Any]:
    state = app_state(request)
    now = state.clock()
    try:
        appeal, created = appeals.create(state.engine, reason=body.reason, now=now, actor=principal.actor,
                                         decision_id=body.decision_id, target_kind=body.target_kind,
                                         target_id=body.target_id, appellant_id=body.appellant_id)
    except appeals.RefileRefused as e:
        wait = e.retry_after(now)
        if wait is None:
            raise ApiError(409, str(e), code="appeal_limit") from None
        raise ApiError(429, str(e), code="appeal_cooldown", headers={"Retry-After": str(wait)}) from None
    if not created:
        response.status_code = 200
    return appeal


@router.get("/appeals", summary="Open appeals, oldest first", **roles(Role.REVIEWER))
def list_appeals(request: Request, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    return appeals.list_open(app_state(request).engine, limit=limit)


@router.get("/appeals/{appeal_id}", summary="One appeal and its outcome", **roles(Role.INTEGRATOR, Role.REVIEWER))
def get_appeal(appeal_id: str, request: Request) -> dict[str, Any]:
    return appeals.get(app_state(request).engine, appeal_id)


@router.post("/appeals/{appeal_id}/lease", summary="Lease an appeal", **roles(Role.REVIEWER))
def lease_appeal(appeal_id: str, request: Request,
                 principal: Principal = Depends(require(Role.REVIEWER))) -> dict[str, Any]:
    state = app_state(request)
    return appeals.lease(state.engine, appeal_id, principal.actor, state.clock(), ttl=state.config.lease_ttl,
                         key_id=principal.key_id)


@router.post("/appeals/{appeal_id}/decision", summary="Uphold or overturn an appeal", **roles(Role.REVIEWER))
def decide_appeal(appeal_id: str, body: AppealDecisionIn, request: Request,
                  principal: Principal = Depends(require(Role.REVIEWER))) -> dict[str, Any]:
    state = app_state(request)
    return appeals.decide(state.engine, appeal_id, principal.actor, body.outcome, state.clock(), notes=body.notes,
                          webhook=state.webhook, key_id=principal.key_id)


@router.get("/cases", summary="Security cases, most urgent first", **roles(Role.SECURITY))
def list_cases(request: Request, status: str | None = Query("open", max_length=16),
               limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    return security.list_cases(app_state(request).engine, status=status or None, limit=limit)


@router.get("/cases/{case_id}", summary="One security case with its evidence and custody log",
            **roles(Role.SECURITY))
def get_case(case_id: str, request: Request,
             principal: Principal = Depends(require(Role.SECURITY))) -> dict[str, Any]:
    state = app_state(request)  # the viewing goes into the case's custody log
    return security.get_case(state.engine, case_id, actor=principal.actor, now=state.clock())


@router.get("/cases/{case_id}/export", summary="The case's evidence package (zip, with a manifest of hashes)",
            response_class=Response, **roles(Role.SECURITY))
def export_case(case_id: str, request: Request,
                principal: Principal = Depends(require(Role.SECURITY))) -> Response:
    state = app_state(request)
    data = security.export_case(state.engine, case_id, principal.actor, state.clock())
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="case-{case_id}.zip"'})
