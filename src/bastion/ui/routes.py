"""The review UI: sign-in, queues, the job view and decisions, media, and wellness.

Pages are server-rendered; htmx refreshes the queue counts and records media reveals; ``app.js`` adds the
keyboard (a decision is two keystrokes: the outcome's key, then Enter) and the break reminder. Every POST
checks the session's CSRF token. Reviewers work one leased job at a time; deciding leases the next.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from bastion.api.keys import Role
from bastion.api.security import app_state, client_address
from bastion.audit.evidence import EvidenceStore
from bastion.errors import NotFound
from bastion.review import context, decide, queues, security, wellness
from bastion.review.model import SECURITY_QUEUES, Outcome
from bastion.store import schema as t
from bastion.ui import session
from bastion.ui.render import page, partial
from bastion.ui.session import Forbidden, LoginRequired, UiUser

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ui", include_in_schema=False)
WORKERS = (Role.REVIEWER, Role.SECURITY)
KEYS = {"uphold": "u", "overturn": "o", "escalate": "e", "journalism": "j", "counter_speech": "c"}
OUTCOME_TEXT = {"uphold": "Violates — uphold", "overturn": "No violation — overturn",
                "escalate": "Escalate to security", "journalism": "Journalism", "counter_speech": "Counter-speech"}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None) -> str:
    """Only local UI paths: never an open redirect."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


# --- signing in and out -----------------------------------------------------------------------------------

@router.get("/login")
def login_form(request: Request, next: str | None = None, error: str | None = None) -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(24)
    resp = page(request, "login.html", None, login_csrf=token, next=safe_next(next), error=error)
    session.set_cookie(resp, request, session.LOGIN_COOKIE, token, 900)
    return resp


@router.post("/login")
async def login(request: Request) -> Response:
    import hmac

    form = await request.form()
    state = app_state(request)
    nxt = safe_next(str(form.get("next") or ""))
    cookie = request.cookies.get(session.LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, str(form.get("csrf") or "")):
        return page(request, "login.html", None, status=403, login_csrf=cookie, next=nxt,
                    error="The sign-in form expired. Please try again.")
    if state.limiter.take("uilogin:" + client_address(request), *state.config.anon_rate) > 0:
        return page(request, "login.html", None, status=429, login_csrf=cookie, next=nxt,
                    error="Too many attempts. Wait a minute and try again.")
    principal = state.verifier.verify(str(form.get("key") or "").strip())
    if principal is None or principal.role not in session.UI_ROLES:
        msg = ("Integrator keys are for the API; sign in with a reviewer, security or admin key."
               if principal is not None else "That key is not valid.")
        return page(request, "login.html", None, status=401, login_csrf=cookie, next=nxt, error=msg)
    token, _ = session.start(request, principal)
    target = nxt if nxt != "/ui/" else ("/ui/security" if principal.role is Role.SECURITY else "/ui/")
    resp = see_other(target)
    session.set_cookie(resp, request, session.COOKIE, token, int(state.config.session_ttl.total_seconds()))
    resp.delete_cookie(session.LOGIN_COOKIE, path="/ui")
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    user = session.current(request)
    session.check_csrf(request, user, await request.form())
    session.end(request, user)
    resp = see_other("/ui/login")
    resp.delete_cookie(session.COOKIE, path="/ui")
    return resp


# --- queues -----------------------------------------------------------------------------------------------

def _queue_rows(request: Request, user: UiUser) -> list[dict[str, Any]]:
    state = app_state(request)
    now = state.clock()
    rows = [s.to_json(now) for s in queues.summaries(state.engine, now)]
    if user.role is Role.REVIEWER:
        rows = [r for r in rows if r["queue"] not in SECURITY_QUEUES]
    elif user.role is Role.SECURITY:
        rows = [r for r in rows if r["queue"] in SECURITY_QUEUES]
    return rows


@router.get("/")
def home(request: Request) -> Response:
    user = session.require(request, *session.UI_ROLES)
    if user.role is Role.SECURITY:
        return see_other("/ui/security")
    state = app_state(request)
    now = state.clock()
    mine = queues.held_by(state.engine, user.actor, now)
    team = wellness.team(state.engine, now.replace(hour=0, minute=0, second=0)) if user.role is Role.ADMIN else []
    from bastion.text.registry import in_use

    return page(request, "queues.html", user, queues=_queue_rows(request, user), mine=mine, team=team,
                message=request.query_params.get("msg"), model=in_use(state.engine))


@router.get("/partials/queues")
def queues_partial(request: Request) -> HTMLResponse:
    user = session.require(request, *session.UI_ROLES)
    return partial("_queue_table.html", queues=_queue_rows(request, user), user=user, now=app_state(request).clock())


@router.post("/lease")
async def lease_next(request: Request) -> Response:
    user = session.require(request, *WORKERS)
    form = await request.form()
    session.check_csrf(request, user, form)
    state = app_state(request)
    queue = str(form.get("queue") or "") or None
    if queue and (queue in SECURITY_QUEUES) != (user.role is Role.SECURITY):
        raise Forbidden(f"you do not work queue {queue}")
    job = queues.lease_next(state.engine, user.actor, state.clock(), queue=queue, ttl=state.config.lease_ttl,
                            security=user.role is Role.SECURITY)
    if job is None:
        back = "/ui/security" if user.role is Role.SECURITY else "/ui/"
        return see_other(f"{back}?msg=" + quote(f"Nothing waiting in {queue or 'your queues'}."))
    return see_other(f"/ui/jobs/{job.id}")


# --- one job ----------------------------------------------------------------------------------------------

@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request) -> HTMLResponse:
    user = session.require(request, *WORKERS)
    state = app_state(request)
    now = state.clock()
    ctx = context.load(state.engine, job_id=job_id, role=user.role.value)
    job = ctx.job
    if job is None or (job.queue in SECURITY_QUEUES) != (user.role is Role.SECURITY):
        raise Forbidden("this job is in a queue you do not work")
    mine = job.state == "leased" and job.lease_owner == user.actor and bool(job.lease_expires) \
        and job.lease_expires is not None and job.lease_expires >= now
    if mine:
        wellness.record(state.engine, user.actor, "item", f"job:{job.id}", now)
    campaign = []
    if ctx.post and job.state != "done":
        for tag in (ctx.post.get("hashtags") or [])[:5]:
            n = len(decide.campaign_jobs(state.engine, job.queue, str(tag), limit=200))
            if n > 1:
                campaign.append({"tag": str(tag), "jobs": n})
    return page(request, "job.html", user, ctx=ctx, job=job, mine=mine, keys=KEYS, outcome_text=OUTCOME_TEXT,
                campaign=campaign, seconds_left=int(job.remaining(now).total_seconds()),
                message=request.query_params.get("msg"))


@router.post("/jobs/{job_id}/lease")
async def lease_job(job_id: str, request: Request) -> Response:
    user = session.require(request, *WORKERS)
    session.check_csrf(request, user, await request.form())
    state = app_state(request)
    queues.lease(state.engine, job_id, user.actor, state.clock(), ttl=state.config.lease_ttl)
    return see_other(f"/ui/jobs/{job_id}")


@router.post("/jobs/{job_id}/decide")
async def decide_job(job_id: str, request: Request) -> Response:
    user = session.require(request, *WORKERS)
    form = await request.form()
    session.check_csrf(request, user, form)
    state = app_state(request)
    job = queues.get_job(state.engine, job_id)
    if (job.queue in SECURITY_QUEUES) != (user.role is Role.SECURITY):
        raise Forbidden("this job is in a queue you do not work")
    try:
        outcome = Outcome(str(form.get("outcome") or form.get("outcome_btn") or ""))
    except ValueError:
        return see_other(f"/ui/jobs/{job_id}?msg=" + quote("Choose an outcome."))
    notes = str(form.get("notes") or "").strip()[:5000] or None
    now = state.clock()
    decide.decide(state.engine, job_id, user.actor, outcome, now, notes=notes, webhook=state.webhook,
                  open_case=security.case_opener(), key_id=user.key_id)
    security_ = user.role is Role.SECURITY
    nxt = queues.lease_next(state.engine, user.actor, now, queue=job.queue, ttl=state.config.lease_ttl,
                            security=security_) or \
        queues.lease_next(state.engine, user.actor, now, ttl=state.config.lease_ttl, security=security_)
    if nxt is None:
        back = "/ui/security" if user.role is Role.SECURITY else "/ui/"
        return see_other(f"{back}?msg=" + quote("Decided. Nothing else is waiting for you."))
    return see_other(f"/ui/jobs/{nxt.id}")


@router.post("/bulk")
async def bulk(request: Request) -> Response:
    user = session.require(request, Role.REVIEWER)
    form = await request.form()
    session.check_csrf(request, user, form)
    state = app_state(request)
    queue, tag = str(form.get("queue") or ""), str(form.get("hashtag") or "")
    results = decide.bulk_decide(state.engine, queue, tag, user.actor, str(form.get("outcome") or ""),
                                 state.clock(), notes=str(form.get("notes") or "") or None, webhook=state.webhook,
                                 open_case=security.case_opener(), key_id=user.key_id)
    return see_other("/ui/?msg=" + quote(f"Decided {len(results)} jobs of #{tag.lstrip('#')} in {queue}."))


@router.post("/jobs/{job_id}/release")
async def release_job(job_id: str, request: Request) -> Response:
    user = session.require(request, *WORKERS)
    session.check_csrf(request, user, await request.form())
    state = app_state(request)
    queues.release(state.engine, job_id, user.actor, state.clock())
    return see_other("/ui/security" if user.role is Role.SECURITY else "/ui/")


# --- media and wellness -----------------------------------------------------------------------------------

@router.get("/media/{post_id}/{index}")
def media(post_id: str, index: int, request: Request) -> Response:
    """A post's medium, from the evidence store (by SHA-256) or the configured media root; images and
    videos only, never cached."""
    session.require(request, *WORKERS, Role.ADMIN)
    state = app_state(request)
    with state.engine.connect() as conn:
        items = conn.execute(select(t.posts.c.media).where(t.posts.c.id == post_id)).scalar()
    if not items or not 0 <= index < len(items):
        raise NotFound("no such medium")
    m = items[index]
    data: bytes | None = None
    media_type = None
    if m.get("sha256"):
        store = EvidenceStore(state.engine)
        try:
            data = store.get(m["sha256"])
            media_type = store.info(m["sha256"]).media_type
        except NotFound:
            data = None
    root = state.config.media_root
    if data is None and m.get("path") and root:
        p = Path(m["path"]).resolve()
        if p.is_relative_to(Path(root).resolve()) and p.is_file():
            data = p.read_bytes()
            media_type = mimetypes.guess_type(p.name)[0]
    if data is None:
        raise NotFound("the medium is not available on this server")
    if not media_type or not media_type.startswith(("image/", "video/")):
        media_type = "video/mp4" if m.get("kind") == "video" else "image/png"
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-store",
                                                          "Content-Disposition": "inline"})


@router.post("/exposure")
async def exposure(request: Request) -> Response:
    user = session.require(request, *session.UI_ROLES)
    form = await request.form()
    session.check_csrf(request, user, form)
    kind = str(form.get("kind") or "")
    if kind not in ("media_reveal",):
        raise Forbidden("unknown exposure kind")
    state = app_state(request)
    wellness.record(state.engine, user.actor, kind, str(form.get("subject") or "")[:300], state.clock())
    exp = wellness.today(state.engine, user.actor, state.clock())
    return partial("_exposure.html", exposure=exp)


@router.post("/break")
async def take_break(request: Request) -> Response:
    user = session.require(request, *session.UI_ROLES)
    session.check_csrf(request, user, await request.form())
    state = app_state(request)
    now = state.clock()
    released = queues.release_all(state.engine, user.actor, now)
    wellness.record(state.engine, user.actor, "break", None, now)
    return page(request, "break.html", user, released=released)


def install_handlers(app: Any) -> None:
    """Answer LoginRequired with a redirect (or ``HX-Redirect`` for htmx) and Forbidden with a page."""

    @app.exception_handler(LoginRequired)  # type: ignore[untyped-decorator]
    async def _login(request: Request, _: LoginRequired) -> Response:
        target = "/ui/login?next=" + quote(request.url.path)
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return see_other(target)

    @app.exception_handler(Forbidden)  # type: ignore[untyped-decorator]
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, "error.html", None, status=403, title="Not allowed", message=exc.message)


def error_page(request: Request, status: int, message: str) -> Response:
    titles = {404: "Not found", 409: "Someone else got there first", 403: "Not allowed"}
    return page(request, "error.html", None, status=status, title=titles.get(status, "Something is not right"),
                message=message)
