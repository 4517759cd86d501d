"""One JSON error body for every failure, so clients handle errors one way:

    {"error": {"status": 403, "code": "forbidden", "message": "this route needs role reviewer", "details": [...]}}

Bastion's own exceptions map to statuses (NotFound 404, InputError/RecordError 422, a review conflict 409,
DependencyError 503); validation errors list each offending field; anything unexpected is a 500 whose body
says nothing about internals (the log has the traceback, without request content).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bastion.errors import (
    BastionError,
    ConfigError,
    DependencyError,
    InputError,
    IntegrityError,
    NotFound,
    RecordError,
)
from bastion.review.model import LeaseConflict, ReviewError

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid",
         429: "rate_limited", 500: "internal", 503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None,
                 details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "error")
        self.details, self.headers = details, headers


def body(status: int, message: str, code: str | None = None,
         details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"status": status, "code": code or CODES.get(status, "error"), "message": message}
    if details:
        err["details"] = details
    return {"error": err}


def error_response(status: int, message: str, *, code: str | None = None,
                   details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    return JSONResponse(body(status, message, code, details), status_code=status, headers=headers)


def invalid_response(errors: Sequence[Any]) -> JSONResponse:
    """422 for a body that failed validation, one detail per offending field."""
    details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                "reason": str(e.get("msg", "invalid"))} for e in errors]
    first = details[0] if details else {"field": "body", "reason": "invalid"}
    return error_response(422, f"{first['field']}: {first['reason']}", details=details)


def bastion_error_response(exc: BastionError) -> JSONResponse:
    details = [{"field": exc.field or "body", "reason": exc.reason}] if isinstance(exc, RecordError) else None
    return error_response(status_for(exc), str(exc), details=details)


def status_for(exc: BastionError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, LeaseConflict | IntegrityError):
        return 409
    if isinstance(exc, ReviewError):
        return 409
    if isinstance(exc, RecordError | ConfigError):
        return 422
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, DependencyError):
        return 503
    return 400


HtmlError = Callable[[Request, int, str], Response]


def install(app: FastAPI, *, html: HtmlError | None = None) -> None:
    """Register the JSON error handlers; ``html`` renders errors for browser pages (paths under ``/ui``)."""

    def for_ui(request: Request) -> bool:
        return html is not None and request.url.path.startswith("/ui")

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, code=exc.code, details=exc.details, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        msg = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
        if html is not None and for_ui(request):
            return html(request, exc.status_code, msg)
        return error_response(exc.status_code, msg, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_response(exc.errors())

    @app.exception_handler(BastionError)
    async def _bastion(request: Request, exc: BastionError) -> Response:
        status = status_for(exc)
        if html is not None and for_ui(request):
            return html(request, status, str(exc))
        return bastion_error_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return error_response(500, "internal error; the server log has the details")
