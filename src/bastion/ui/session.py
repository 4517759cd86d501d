"""UI sessions: sign in with an API key, carry a session cookie, and prove every form came from our pages.

* The cookie holds a random token; the store keeps only its SHA-256 (a leaked table opens no session).
  It is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends it) and
  ``Secure`` whenever the request came over HTTPS.
* Every state-changing request carries the session's CSRF token (a hidden form field, or the
  ``X-CSRF-Token`` header htmx sends), compared in constant time. The sign-in form, before any session,
  uses a double-submit cookie.
* Integrator keys cannot sign in: the UI is for people.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select, update

from bastion.api.keys import Principal, Role
from bastion.api.security import app_state
from bastion.audit.log import AuditLog
from bastion.review import queues
from bastion.store.api import api_keys, ui_sessions

COOKIE = "bastion_session"
LOGIN_COOKIE = "bastion_login_csrf"
UI_ROLES = frozenset({Role.REVIEWER, Role.SECURITY, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class UiUser:
    session_id: str
    key_id: str
    role: Role
    actor: str
    csrf: str
    created_at: datetime

    @property
    def name(self) -> str:
        return self.actor.split(":", 1)[-1]


class LoginRequired(Exception):
    """Raised by pages when there is no valid session; answered with a redirect to the sign-in page."""


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(request: Request, principal: Principal) -> tuple[str, UiUser]:
    """Open a session for a verified key; returns (cookie value, user)."""
    state = app_state(request)
    now = state.clock()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    sid = _digest(token)
    with state.engine.begin() as conn:
        conn.execute(ui_sessions.insert().values(
            id=sid, key_id=principal.key_id, role=principal.role.value, actor=principal.actor, csrf=csrf,
            created_at=now, expires_at=now + state.config.session_ttl))
        AuditLog().append(conn, "ui.sign_in", principal.actor, f"key:{principal.key_id}", {}, now=now)
    return token, UiUser(sid, principal.key_id, principal.role, principal.actor, csrf, now)


def current(request: Request) -> UiUser:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired
    state = app_state(request)
    now = state.clock()
    with state.engine.connect() as conn:
        # the key behind the session is read on every request: revoking it (or changing its role) ends the
        # session at once, whatever the session's own expiry says
        row = conn.execute(select(ui_sessions, api_keys.c.revoked_at.label("key_revoked_at"),
                                  api_keys.c.role.label("key_role"))
                           .join(api_keys, api_keys.c.id == ui_sessions.c.key_id, isouter=True)
                           .where(ui_sessions.c.id == _digest(token))).first()
    if (row is None or row.ended_at is not None or row.expires_at <= now or row.key_role is None
            or row.key_revoked_at is not None or row.key_role != row.role):
        raise LoginRequired
    return UiUser(row.id, row.key_id, Role(row.role), row.actor, row.csrf, row.created_at)


def end(request: Request, user: UiUser) -> None:
    state = app_state(request)
    now = state.clock()
    queues.release_all(state.engine, user.actor, now)
    with state.engine.begin() as conn:
        conn.execute(update(ui_sessions).where(ui_sessions.c.id == user.session_id).values(ended_at=now))
        AuditLog().append(conn, "ui.sign_out", user.actor, f"key:{user.key_id}", {}, now=now)


def require(request: Request, *roles: Role) -> UiUser:
    user = current(request)
    if roles and user.role not in roles:
        raise Forbidden(f"this page is for {' or '.join(sorted(r.value for r in roles))}")
    return user


def check_csrf(request: Request, user: UiUser, form: Any | None = None) -> None:
    token = request.headers.get("x-csrf-token") or (form.get("csrf") if form is not None else None) or ""
    if not hmac.compare_digest(str(token), user.csrf):
        raise Forbidden("the form expired or did not come from this site; reload the page and try again")


def cookie_secure(request: Request) -> bool:
    configured = app_state(request).config.cookie_secure
    return configured if configured is not None else request.url.scheme == "https"


def set_cookie(response: Any, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/ui", httponly=True, samesite="strict",
                        secure=cookie_secure(request))
