"""Server-side rendering: one Jinja2 environment with autoescaping on, and the page chrome every page shares
(the signed-in person, their exposure counters and break reminder, the CSRF token for htmx).

Autoescaping is what makes user-supplied text safe: a post that contains markup or a script is shown as
those characters. Templates never mark user content ``|safe``; the only markup built in Python is the
transparency report's SVG, from numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from bastion.api.security import app_state
from bastion.review import wellness
from bastion.ui.session import UiUser

env = jinja2.Environment(loader=jinja2.PackageLoader("bastion.ui", "templates"),
                         autoescape=jinja2.select_autoescape(["html"], default=True),
                         trim_blocks=True, lstrip_blocks=True)


def duration(seconds: float | int | None) -> str:
    """``-0:12`` style clocks: hours:minutes, negative when overdue."""
    if seconds is None:
        return "—"
    s = int(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    h, rem = divmod(s, 3600)
    m = rem // 60
    if h >= 48:
        return f"{sign}{h // 24}d"
    return f"{sign}{h}:{m:02d}"


def ago(ts: datetime | str | None, now: datetime | None = None) -> str:
    if ts is None:
        return "—"
    if isinstance(ts, str):
        try:
            ts = datetime.fromisoformat(ts)
        except ValueError:
            return str(ts)
    delta = (now or datetime.now(ts.tzinfo)) - ts
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)} min ago"
    if delta < timedelta(days=2):
        return f"{int(delta.total_seconds() // 3600)} h ago"
    return f"{delta.days} days ago"


def when(ts: datetime | str | None) -> str:
    if ts is None:
        return "—"
    if isinstance(ts, str):
        return ts.replace("T", " ")[:16]
    return ts.strftime("%Y-%m-%d %H:%M")


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


env.filters.update(duration=duration, ago=ago, when=when, pct=pct)


def page(request: Request, template: str, user: UiUser | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    state = app_state(request)
    now = state.clock()
    chrome: dict[str, Any] = {"user": user, "now": now, "path": request.url.path, "exposure": None,
                              "needs_break": False, "session_start": None}
    if user is not None:
        exp = wellness.today(state.engine, user.actor, now)
        chrome.update(exposure=exp, needs_break=exp.needs_break(user.created_at, now),
                      session_start=int((max(user.created_at, exp.last_break) if exp.last_break
                                         else user.created_at).timestamp()),
                      break_after=int(wellness.BREAK_AFTER.total_seconds()))
    html = env.get_template(template).render(**chrome, **ctx)
    return HTMLResponse(html, status_code=status)


def partial(template: str, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(template).render(**ctx))
