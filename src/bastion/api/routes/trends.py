"""Trends: which candidate hashtags may trend, and the campaigns behind those that may not.

The campaigns capability (:mod:`bastion.campaigns.service`) does the work against the live campaign
detector of this server's pipeline (or, without one, its last saved state); this module is the HTTP edge.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from bastion.api.errors import ApiError
from bastion.api.keys import Role
from bastion.api.security import app_state, roles

router = APIRouter(prefix="/v1", tags=["trends"])


def _service() -> Any:
    try:
        from bastion.campaigns import service
    except ImportError as exc:
        raise ApiError(503, f"campaign detection is not installed: {exc}") from None
    return service


def _filter(request: Request, candidates: list[Any] | None) -> dict[str, Any]:
    svc = _service()
    state = app_state(request)
    with state.lock:  # the detector's windows move with every ingested post
        det = next((d for d in state.pipeline.detectors if d.name == "campaign"), None)
        saved = None if det is not None else state.pipeline.store.load_state("campaign")
        if det is None and saved is None and candidates is None:
            return {"at": state.clock().isoformat(), "decisions": [], "campaigns": [],
                    "note": "no campaign detector runs on this server and none has saved state"}
        result: dict[str, Any] = svc.filter_trends(candidates, detector=det, state=saved,
                                                    include_campaigns=candidates is None)
    return result


@router.get("/trends", summary="Trending hashtags with allow/suppress decisions and open campaigns",
            **roles(Role.REVIEWER, Role.SECURITY, Role.ADMIN))
def trends(request: Request) -> dict[str, Any]:
    return _filter(request, None)


@router.post("/trends/filter", summary="Which candidate trends may trend", **roles(Role.INTEGRATOR, Role.ADMIN))
async def filter_trends(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(422, "the body must be JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("candidates"), list):
        raise ApiError(422, 'expected {"candidates": ["hashtag", {"hashtag": ..., "count": ...}, ...]}')
    if len(body["candidates"]) > 1000:
        raise ApiError(413, "at most 1000 candidates")
    return _filter(request, body["candidates"])
