"""UI pages beyond the review queue: appeals, the security team's cases, transparency and exports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from bastion.api.keys import Role
from bastion.api.security import app_state
from bastion.audit.log import AuditLog
from bastion.review import appeals, context, labels, queues, security
from bastion.review.model import AppealOutcome, ReviewError
from bastion.ui import session
from bastion.ui.render import page
from bastion.ui.routes import see_other

router = APIRouter(prefix="/ui", include_in_schema=False)
APPEAL_KEYS = {"upheld": "u", "overturned": "o"}


# --- appeals ----------------------------------------------------------------------------------------------

@router.get("/appeals")
def appeals_list(request: Request) -> HTMLResponse:
    user = session.require(request, Role.REVIEWER, Role.ADMIN)
    state = app_state(request)
    return page(request, "appeals.html", user, appeals=appeals.list_open(state.engine, limit=200),
                message=request.query_params.get("msg"))


@router.post("/appeals/next")
async def appeals_next(request: Request) -> Response:
    user = session.require(request, Role.REVIEWER)
    session.check_csrf(request, user, await request.form())
    state = app_state(request)
    now = state.clock()
    for a in appeals.list_open(state.engine, limit=200):
        if a["state"] == "leased" and a["lease_owner"] == user.actor:
            return see_other(f"/ui/appeals/{a['id']}")
    for a in appeals.list_open(state.engine, limit=200):
        try:
            appeals.lease(state.engine, a["id"], user.actor, now, ttl=state.config.lease_ttl, key_id=user.key_id)
        except ReviewError:  # leased by someone else, or this reviewer made the contested decision
            continue
        return see_other(f"/ui/appeals/{a['id']}")
    return see_other("/ui/appeals?msg=" + quote("No appeal is waiting for you."))


@router.get("/appeals/{appeal_id}")
def appeal_page(appeal_id: str, request: Request) -> HTMLResponse:
    user = session.require(request, Role.REVIEWER, Role.ADMIN)
    state = app_state(request)
    appeal = appeals.get(state.engine, appeal_id)
    ctx = context.load(state.engine, subject_kind=appeal["target_kind"], subject_id=appeal["target_id"],
                       role=user.role.value)
    mine = appeal["state"] == "leased" and appeal["lease_owner"] == user.actor
    return page(request, "appeal.html", user, appeal=appeal, ctx=ctx, mine=mine, keys=APPEAL_KEYS,
                message=request.query_params.get("msg"))


@router.post("/appeals/{appeal_id}/lease")
async def appeal_lease(appeal_id: str, request: Request) -> Response:
    user = session.require(request, Role.REVIEWER)
    session.check_csrf(request, user, await request.form())
    state = app_state(request)
    try:
        appeals.lease(state.engine, appeal_id, user.actor, state.clock(), ttl=state.config.lease_ttl,
                      key_id=user.key_id)
    except ReviewError as exc:
        return see_other(f"/ui/appeals/{appeal_id}?msg=" + quote(str(exc)))
    return see_other(f"/ui/appeals/{appeal_id}")


@router.post("/appeals/{appeal_id}/decide")
async def appeal_decide(appeal_id: str, request: Request) -> Response:
    user = session.require(request, Role.REVIEWER)
    form = await request.form()
    session.check_csrf(request, user, form)
    try:
        outcome = AppealOutcome(str(form.get("outcome") or form.get("outcome_btn") or ""))
    except ValueError:
        return see_other(f"/ui/appeals/{appeal_id}?msg=" + quote("Choose uphold or overturn."))
    state = app_state(request)
    result = appeals.decide(state.engine, appeal_id, user.actor, outcome, state.clock(),
                            notes=str(form.get("notes") or "").strip()[:5000] or None, webhook=state.webhook,
                            key_id=user.key_id)
    what = ("Overturned: " + (", ".join(f"{r['action']} on {r['target_id']} reversed" for r in result["reversed"])
                              or "nothing was active")) if outcome is AppealOutcome.OVERTURNED else "Upheld."
    return see_other("/ui/appeals?msg=" + quote(what))


# --- security ---------------------------------------------------------------------------------------------

@router.get("/security")
def security_home(request: Request) -> HTMLResponse:
    user = session.require(request, Role.SECURITY)
    state = app_state(request)
    now = state.clock()
    cases = security.list_cases(state.engine, status="open")
    for c in cases:
        from datetime import datetime

        c["seconds_left"] = int((datetime.fromisoformat(c["sla_due"]) - now).total_seconds())
    jobs = [j.to_json(now) for j in queues.list_jobs(state.engine, queue="security", state=None, limit=100)
            if j.state != "done"]
    return page(request, "security.html", user, cases=cases, jobs=jobs, installed=security.available(),
                message=request.query_params.get("msg"))


@router.get("/security/cases/{case_id}")
def case_page(case_id: str, request: Request) -> HTMLResponse:
    user = session.require(request, Role.SECURITY)
    state = app_state(request)
    case = security.get_case(state.engine, case_id, actor=user.actor, now=state.clock())
    return page(request, "case.html", user, case=case)


@router.post("/security/cases/{case_id}/export")
async def case_export(case_id: str, request: Request) -> Response:
    user = session.require(request, Role.SECURITY)
    session.check_csrf(request, user, await request.form())
    state = app_state(request)
    data = security.export_case(state.engine, case_id, user.actor, state.clock())
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="case-{case_id}.zip"'})


# --- transparency and exports (admin) -----------------------------------------------------------------------

def _report(request: Request) -> dict[str, Any]:
    from bastion.transparency.metrics import compute

    state = app_state(request)
    report: dict[str, Any] = compute(state.engine, until=state.clock(), policy_path=state.settings.policy).to_json()
    return report


@router.get("/transparency")
def transparency(request: Request) -> HTMLResponse:
    from markupsafe import Markup

    from bastion.transparency.render import fragment

    user = session.require(request, Role.ADMIN)
    # the fragment is rendered by the report's own autoescaping templates, from figures and rule names
    return page(request, "transparency.html", user, body=Markup(fragment(_report(request))))


@router.get("/report.css")
def report_css() -> Response:
    from bastion.transparency.render import css

    return Response(css(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/transparency/report.json")
def transparency_json(request: Request) -> Response:
    session.require(request, Role.ADMIN)
    return Response(orjson.dumps(_report(request), option=orjson.OPT_INDENT_2), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="transparency.json"'})


def _stream(request: Request, user: session.UiUser, event: str, rows: Iterator[dict[str, Any]],
            filename: str) -> StreamingResponse:
    state = app_state(request)
    with state.engine.begin() as conn:
        AuditLog().append(conn, event, user.actor, None, {"via": "ui"}, now=state.clock())
    return StreamingResponse((orjson.dumps(r) + b"\n" for r in rows), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/transparency/statements.jsonl")
async def statements(request: Request) -> Response:
    from bastion.transparency.sor import iter_statements

    user = session.require(request, Role.ADMIN)
    session.check_csrf(request, user, await request.form())
    state = app_state(request)
    return _stream(request, user, "transparency.statements",
                   iter_statements(state.engine, until=state.clock()), "statements.jsonl")


@router.post("/export/labels.jsonl")
async def export_labels(request: Request) -> Response:
    user = session.require(request, Role.ADMIN)
    session.check_csrf(request, user, await request.form())
    return _stream(request, user, "labels.export", labels.iter_labels(app_state(request).engine),
                   "review-labels.jsonl")

