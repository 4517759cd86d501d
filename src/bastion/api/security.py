"""Who may call what, how much, and with how large a body.

* :func:`roles` declares, on each route, the roles it admits. It adds the authentication dependency and
  records the roles in the OpenAPI document (``x-bastion-roles``), so the document and the check never
  disagree - and a test can walk every route and try the wrong key.
* Authentication is ``Authorization: Bearer <key>``: missing or unknown key 401, wrong role 403. Failed
  attempts are rate-limited per client address, good ones per key and role (429 with ``Retry-After``).
* :class:`BodyLimit` refuses bodies over the limit (413) before any route parses them; media upload
  routes get a larger limit.
* :class:`SecurityHeaders` adds ``nosniff``, frame denial, no referrer, ``no-store`` and, for the UI, a
  content security policy that admits only the server's own scripts and styles.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bastion.api.errors import ApiError, body
from bastion.api.keys import Principal, Role
from bastion.api.state import AppState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer bst_...`")

UPLOAD_PREFIXES = ("/h/", "/m/", "/c/bank")


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.bastion
    return state


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limited(state: AppState, bucket: str, rate: tuple[float, float]) -> None:
    wait = state.limiter.take(bucket, *rate)
    if wait > 0:
        raise ApiError(429, "too many requests; slow down", headers={"Retry-After": str(max(1, math.ceil(wait)))})


HMA_PREFIXES = ("/h/", "/m/", "/c/", "/site-map")


def trusted_hma_client(request: Request) -> Principal | None:
    """An HMA client admitted without a key, as HMA deployments admit them behind a gateway: only on HMA's
    routes, only when the operator configured it (``BASTION_HMA_TRUSTED_NETWORKS`` and/or
    ``BASTION_HMA_TRUSTED_HEADER``; both must hold when both are set), acting with the configured role."""
    import hmac
    import ipaddress

    config = app_state(request).config
    if not (config.hma_trusted_networks or config.hma_trusted_header):
        return None
    if not request.url.path.startswith(HMA_PREFIXES):
        return None
    if config.hma_trusted_networks:
        try:
            addr = ipaddress.ip_address(client_address(request))
        except ValueError:
            return None
        if not any(addr in ipaddress.ip_network(n, strict=False) for n in config.hma_trusted_networks):
            return None
    if config.hma_trusted_header:
        name, secret = config.hma_trusted_header
        if not hmac.compare_digest(request.headers.get(name, "").encode(), secret.encode()):
            return None
    return Principal("hma-gateway", Role(config.hma_trusted_role), "hma-gateway")


def authenticate(request: Request, creds: HTTPAuthorizationCredentials | None, allowed: frozenset[Role]
                 ) -> Principal:
    token = creds.credentials if creds and creds.scheme.lower() == "bearer" else None
    if token is None and (trusted := trusted_hma_client(request)) is not None:
        state = app_state(request)
        if trusted.role not in allowed:
            need = " or ".join(sorted(r.value for r in allowed))
            raise ApiError(403, f"this route needs role {need}; trusted HMA clients act as {trusted.role.value}")
        _limited(state, "key:" + trusted.key_id, state.config.rates.get(trusted.role.value, (30.0, 120.0)))
        return trusted
    return check_key(app_state(request), client_address(request), token, allowed)


def bearer_token(header: bytes | str | None) -> str | None:
    """The key from an ``Authorization: Bearer <key>`` header value (None for any other scheme)."""
    if not header:
        return None
    value = header.decode("latin-1") if isinstance(header, bytes) else header
    scheme, _, token = value.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def check_key(state: AppState, client: str, token: str | None, allowed: frozenset[Role]) -> Principal:
    """401 without a valid key, 403 for a role the route does not admit, 429 over the rate."""
    principal = state.verifier.verify(token) if token else None
    if principal is None:
        _limited(state, "anon:" + client, state.config.anon_rate)
        msg = "missing API key" if token is None else "invalid or revoked API key"
        raise ApiError(401, msg, headers={"WWW-Authenticate": "Bearer"})
    if principal.role not in allowed:
        need = " or ".join(sorted(r.value for r in allowed))
        raise ApiError(403, f"this route needs role {need}; the key has role {principal.role.value}")
    rate = state.config.rates.get(principal.role.value, (30.0, 120.0))
    _limited(state, "key:" + principal.key_id, rate)
    return principal


_DEPENDENCIES: dict[frozenset[Role], Callable[..., Awaitable[Principal]]] = {}


def require(*allowed: Role) -> Callable[..., Awaitable[Principal]]:
    """The authentication dependency for a set of roles; the same callable for the same set, so FastAPI
    runs it once per request however many times a route names it."""
    allowed_set = frozenset(allowed)
    if allowed_set in _DEPENDENCIES:
        return _DEPENDENCIES[allowed_set]

    async def dependency(request: Request,
                         creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        # async: run on the event loop, not in a worker thread (a verified key is cached; a miss reads one
        # row, indexed, about once per key per cache period)
        return authenticate(request, creds, allowed_set)

    dependency.__name__ = "require_" + "_".join(sorted(r.value for r in allowed_set))
    _DEPENDENCIES[allowed_set] = dependency
    return dependency


def roles(*allowed: Role) -> dict[str, Any]:
    """Route keyword arguments: the auth dependency plus the roles in the OpenAPI operation."""
    names = sorted(r.value for r in allowed)
    return {"dependencies": [Depends(require(*allowed))],
            "openapi_extra": {"x-bastion-roles": names},
            "responses": {401: {"description": "Missing or invalid API key"},
                          403: {"description": f"Key lacks role {' or '.join(names)}"},
                          429: {"description": "Rate limited"}}}


class BodyLimit:
    """Pure ASGI middleware: buffer the body up to the limit, refuse anything larger with 413."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.max_upload if path.startswith(UPLOAD_PREFIXES) else self.max_body
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        await _reject(send, limit)
                        return
                except ValueError:
                    await _reject(send, limit, 400, "bad Content-Length")
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reject(send, limit)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        data = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send, limit: int, status: int = 413, message: str | None = None) -> None:
    import orjson

    payload = orjson.dumps(body(status, message or f"request body larger than {limit} bytes"))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ui = scope.get("path", "").startswith("/ui")
        static = scope.get("path", "").startswith("/ui/static/")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"no-referrer")]
                if b"cache-control" not in present:
                    extra.append((b"cache-control", b"max-age=3600" if static else b"no-store"))
                if ui:
                    extra.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, wrapped)
