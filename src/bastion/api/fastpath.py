"""The pre-publication check without the framework's per-request machinery.

``POST /v1/posts`` is the route a platform calls on every post before publishing it, so its cost is the
server's capacity. This ASGI middleware answers it directly - the same key and role check, the same rate
limits, the same body model and record builder, the same verdict and the same error bodies as the FastAPI
route (which stays, for the OpenAPI document and for anything this path does not take, e.g. another content
type) - and skips routing and dependency resolution. The body-size limit and security headers wrap it.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import ValidationError

from bastion.api.errors import ApiError, bastion_error_response, error_response, invalid_response
from bastion.api.keys import Role
from bastion.api.routes.ingest import build_post, check_post
from bastion.api.schemas import PostIn
from bastion.api.security import ASGIApp, Receive, Scope, Send, bearer_token, check_key
from bastion.api.state import AppState
from bastion.errors import BastionError
from bastion.records import Post

log = logging.getLogger(__name__)
INTEGRATOR = frozenset({Role.INTEGRATOR})
PATH = "/v1/posts"


class VerdictFastPath:
    def __init__(self, app: ASGIApp, *, state: AppState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        try:
            check_key(self.state, client[0] if client else "unknown", bearer_token(headers.get(b"authorization")),
                      INTEGRATOR)
            body = await _body(receive)
            model = PostIn.model_validate_json(body)
            post = build_post(self.state)(model.model_dump(mode="json", exclude_none=True))
            if not isinstance(post, Post):  # pragma: no cover - the builder's contract
                raise ApiError(500, "internal error: not a post")
            status, payload, extra = 200, orjson.dumps(await check_post(self.state, post)), []
        except ApiError as exc:
            r = error_response(exc.status, exc.message, code=exc.code, details=exc.details, headers=exc.headers)
            status, payload = r.status_code, bytes(r.body)
            extra = [(k, v) for k, v in r.raw_headers if k not in (b"content-type", b"content-length")]
        except ValidationError as exc:
            r = invalid_response(exc.errors())
            status, payload, extra = r.status_code, bytes(r.body), []
        except BastionError as exc:
            r = bastion_error_response(exc)
            status, payload, extra = r.status_code, bytes(r.body), []
        except Exception as exc:  # answer like the framework's handler: a bare 500
            log.error("unhandled %s on %s", type(exc).__name__, PATH, exc_info=exc)
            r = error_response(500, "internal error; the server log has the details")
            status, payload, extra = r.status_code, bytes(r.body), []
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), *extra]})
        await send({"type": "http.response.body", "body": payload})


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "client disconnected")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
