"""Administration: API keys, the audit log, transparency reports and the reviewers' exposure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from bastion.api.keys import Principal, Role, create_key, list_keys, revoke_key
from bastion.api.schemas import KeyIn
from bastion.api.security import app_state, require, roles
from bastion.audit import log as audit
from bastion.review import wellness

router = APIRouter(prefix="/v1", tags=["administration"])
ADMIN = roles(Role.ADMIN)


@router.post("/keys", summary="Create an API key (shown once)", status_code=201, **ADMIN)
def new_key(body: KeyIn, request: Request, principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    state = app_state(request)
    key_id, key = create_key(state.engine, body.role, name=body.name, person=body.person,
                             created_by=principal.actor,
                             now=state.clock())
    return {"id": key_id, "role": body.role, "key": key}


@router.get("/keys", summary="API keys (never the keys themselves)", **ADMIN)
def keys(request: Request) -> list[dict[str, Any]]:
    return list_keys(app_state(request).engine)


@router.delete("/keys/{key_id}", summary="Revoke an API key", **ADMIN)
def revoke(key_id: str, request: Request, principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    state = app_state(request)
    revoke_key(state.engine, key_id, actor=principal.actor, now=state.clock())
    state.verifier.forget()
    return {"revoked": key_id}


def _audit_event(request: Request, principal: Principal, event: str, payload: dict[str, Any]) -> None:
    state = app_state(request)
    with state.engine.begin() as conn:
        audit.AuditLog().append(conn, event, principal.actor, None, payload, now=state.clock())


@router.get("/audit/export", summary="The hash-chained audit log (JSON Lines, ending with the chain head)",
            **ADMIN)
def audit_export(request: Request, after: int = Query(0, ge=0),
                 principal: Principal = Depends(require(Role.ADMIN))) -> StreamingResponse:
    state = app_state(request)
    _audit_event(request, principal, "audit.export", {"after": after})
    return StreamingResponse(audit.export_lines(state.engine, after=after), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'})


@router.get("/audit/verify", summary="Recompute the audit chain and every decision's hash", **ADMIN)
def audit_verify(request: Request) -> dict[str, Any]:
    result = audit.verify(app_state(request).engine)
    return {"ok": result.ok, "entries": result.entries, "problems": result.problems[:200]}


def _window(days: int | None, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days else None


@router.get("/transparency/report", summary="Transparency figures (JSON)", **ADMIN)
def transparency(request: Request, days: int | None = Query(None, ge=1, le=3660)) -> dict[str, Any]:
    from bastion.transparency.metrics import compute

    state = app_state(request)
    now = state.clock()
    return compute(state.engine, since=_window(days, now), until=now, policy_path=state.settings.policy).to_json()


@router.get("/transparency/report.html", summary="Transparency report (HTML with charts)",
            response_class=HTMLResponse, **ADMIN)
def transparency_html(request: Request, days: int | None = Query(None, ge=1, le=3660)) -> HTMLResponse:
    from bastion.transparency.metrics import compute
    from bastion.transparency.render import render_html

    state = app_state(request)
    now = state.clock()
    report = compute(state.engine, since=_window(days, now), until=now, policy_path=state.settings.policy)
    return HTMLResponse(render_html(report.to_json()))


@router.get("/transparency/statements", summary="DSA statements of reasons (EU Transparency Database JSONL)",
            **ADMIN)
def statements(request: Request, days: int | None = Query(None, ge=1, le=3660),
               principal: Principal = Depends(require(Role.ADMIN))) -> StreamingResponse:
    from bastion.transparency.sor import iter_statements

    state = app_state(request)
    now = state.clock()
    _audit_event(request, principal, "transparency.statements", {"days": days})

    def lines() -> Iterator[bytes]:
        for s in iter_statements(state.engine, since=_window(days, now), until=now):
            yield orjson.dumps(s) + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="statements.jsonl"'})


@router.get("/wellness", summary="Reviewers' exposure in the last days (for supervisors)", **ADMIN)
def team_exposure(request: Request, days: int = Query(7, ge=1, le=90)) -> list[dict[str, Any]]:
    state = app_state(request)
    return wellness.team(state.engine, state.clock() - timedelta(days=days))
