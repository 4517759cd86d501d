"""Ingest: posts, accounts, edges, reports and enforcement events, one at a time or in batches.

``POST /v1/posts`` is the pre-publication check: the post goes through the same pipeline as a file scan
(detectors, policy, store, audit) and the decision comes back in the response - ``verdict`` says what the
platform should do (``allow``, ``review``, ``restrict`` or ``block``). The batch routes take up to
``max_batch`` records and report per-item errors instead of failing the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from bastion.api.errors import ApiError
from bastion.api.keys import Role
from bastion.api.schemas import AccountIn, BatchIn, EdgeIn, EnforcementIn, PostIn, ReportIn
from bastion.api.security import app_state, roles
from bastion.api.state import AppState
from bastion.batch import Batch
from bastion.errors import RecordError
from bastion.ingest import native
from bastion.policy.model import Decision
from bastion.records import Account, Post, Record

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["ingest"])
INTEGRATOR = roles(Role.INTEGRATOR)

BLOCK = frozenset({"remove_post", "suspend_account"})
RESTRICT = frozenset({"restrict_hashtag", "detrend_hashtag"})
REVIEW = frozenset({"review", "escalate"})


def verdict(d: Decision) -> dict[str, Any]:
    actions = {a.action for a in d.actions}
    word = ("block" if actions & BLOCK else "review" if actions & REVIEW else
            "restrict" if actions & RESTRICT else "allow")
    out = d.to_json()
    out["verdict"] = word
    return out


def neutral(subject: str, sid: str) -> dict[str, Any]:
    return {"id": sid, "decision_id": None, "subject": subject, "actions": [], "shadow_actions": [],
            "labels": [], "scores": {}, "explanation": "No detector signals.", "verdict": "allow"}


def _check_media(obj: Mapping[str, Any], state: AppState, field: str) -> None:
    """A media ``path`` names a file on this server: only under the configured media root."""
    items = obj.get(field)
    for m in items if isinstance(items, list) else [items] if isinstance(items, dict) else []:
        path = m.get("path") if isinstance(m, dict) else None
        if not path:
            continue
        root = state.config.media_root
        if root is None or not Path(path).resolve().is_relative_to(Path(root).resolve()):
            raise RecordError("a media path must lie under the server's media root; send url, sha256 or pdq",
                              field=field, record_id=str(obj.get("id")))


async def process(state: AppState, batch: Batch) -> list[Decision]:
    decisions: list[Decision] = await state.batcher.run(batch)
    return decisions


Builder = Callable[[Mapping[str, Any]], Record]


def build_post(state: AppState) -> Builder:
    def build(obj: Mapping[str, Any]) -> Record:
        _check_media(obj, state, "media")
        return native.post_from(obj, source="api")
    return build


def _build_account(state: AppState) -> Builder:
    def build(obj: Mapping[str, Any]) -> Record:
        _check_media(obj, state, "avatar")
        return native.account_from(obj, source="api")
    return build


def _parse(items: Sequence[Mapping[str, Any]], build: Builder, state: AppState
           ) -> tuple[list[tuple[int, Record]], list[dict[str, Any]]]:
    if len(items) > state.config.max_batch:
        raise ApiError(413, f"at most {state.config.max_batch} items per batch")
    ok: list[tuple[int, Record]] = []
    errors: list[dict[str, Any]] = []
    for i, obj in enumerate(items):
        try:
            if not isinstance(obj, dict):
                raise RecordError("expected an object")
            ok.append((i, build(obj)))
        except RecordError as exc:
            errors.append({"index": i, "id": exc.record_id, "field": exc.field, "reason": exc.reason})
    return ok, errors


def _one(body: Any, build: Builder) -> Record:
    return build(body.model_dump(mode="json", exclude_none=True))


@router.post("/posts", summary="Check one post (synchronous verdict)", response_model=None, **INTEGRATOR)
async def post_one(body: PostIn, request: Request) -> Response:
    """The decision (``Decision.to_json()``) plus ``verdict``: ``allow``, ``review``, ``restrict`` or
    ``block``."""
    state = app_state(request)
    post = _one(body, build_post(state))
    if not isinstance(post, Post):  # pragma: no cover - the builder's contract
        raise ApiError(500, "internal error: not a post")
    # the hot path: serialised once, by orjson, without a response model to validate against
    return Response(orjson.dumps(await check_post(state, post)), media_type="application/json")


async def check_post(state: AppState, post: Post) -> dict[str, Any]:
    """The verdict on one post (shared with :mod:`bastion.api.fastpath`)."""
    for d in await process(state, Batch(posts=[post])):
        if d.subject_kind.value == "post" and d.subject_id == post.id:
            return verdict(d)
    return neutral("post", post.id)  # pragma: no cover - the pipeline decides on every post


@router.post("/posts/batch", summary="Check many posts", **INTEGRATOR)
async def post_batch(body: BatchIn, request: Request) -> dict[str, Any]:
    state = app_state(request)
    ok, errors = _parse(body.items, build_post(state), state)
    posts = [r for _, r in ok if isinstance(r, Post)]
    by_id = {d.subject_id: d for d in await process(state, Batch(posts=posts)) if d.subject_kind.value == "post"} \
        if posts else {}
    results = [verdict(by_id[p.id]) if p.id in by_id else neutral("post", p.id) for p in posts]
    return {"results": results, "errors": errors}


@router.post("/accounts", summary="Register or update one account", **INTEGRATOR)
async def account_one(body: AccountIn, request: Request) -> dict[str, Any]:
    state = app_state(request)
    acct = _one(body, _build_account(state))
    if not isinstance(acct, Account):  # pragma: no cover - the builder's contract
        raise ApiError(500, "internal error: not an account")
    for d in await process(state, Batch(accounts=[acct])):
        if d.subject_kind.value == "account" and d.subject_id == acct.id:
            return verdict(d)
    return neutral("account", acct.id)


@router.post("/accounts/batch", summary="Register or update many accounts", **INTEGRATOR)
async def account_batch(body: BatchIn, request: Request) -> dict[str, Any]:
    state = app_state(request)
    ok, errors = _parse(body.items, _build_account(state), state)
    accts = [r for _, r in ok if isinstance(r, Account)]
    by_id = {d.subject_id: d for d in await process(state, Batch(accounts=accts))
             if d.subject_kind.value == "account"} if accts else {}
    return {"results": [verdict(by_id[a.id]) if a.id in by_id else neutral("account", a.id) for a in accts],
            "errors": errors}


async def _records(kind: str, body: Any, request: Request, build: Builder, batch: bool) -> dict[str, Any]:
    state = app_state(request)
    if batch:
        ok, errors = _parse(body.items, build, state)
        records = [r for _, r in ok]
    else:
        records, errors = [_one(body, build)], []
    b = Batch()
    getattr(b, kind).extend(records)
    decisions = await process(state, b) if records else []
    out: dict[str, Any] = {"accepted": len(records), "errors": errors}
    if kind == "reports":
        out["results"] = [verdict(d) for d in decisions if d.subject_kind.value == "report"]
    return out


@router.post("/edges", summary="Record one edge (follow, mention, repost, reply)", **INTEGRATOR)
async def edge_one(body: EdgeIn, request: Request) -> dict[str, Any]:
    return await _records("edges", body, request, native.edge_from, False)


@router.post("/edges/batch", summary="Record many edges", **INTEGRATOR)
async def edge_batch(body: BatchIn, request: Request) -> dict[str, Any]:
    return await _records("edges", body, request, native.edge_from, True)


@router.post("/reports", summary="File one report (user, trusted flagger, or an authority's removal order)",
             **INTEGRATOR)
async def report_one(body: ReportIn, request: Request) -> dict[str, Any]:
    out = await _records("reports", body, request, native.report_from, False)
    results = out.get("results") or []
    return results[0] if results else neutral("report", body.id)


@router.post("/reports/batch", summary="File many reports", **INTEGRATOR)
async def report_batch(body: BatchIn, request: Request) -> dict[str, Any]:
    return await _records("reports", body, request, native.report_from, True)


@router.post("/enforcement", summary="Record one enforcement decided elsewhere", **INTEGRATOR)
async def enforcement_one(body: EnforcementIn, request: Request) -> dict[str, Any]:
    return await _records("enforcement", body, request, native.enforcement_from, False)


@router.post("/enforcement/batch", summary="Record many enforcement events", **INTEGRATOR)
async def enforcement_batch(body: BatchIn, request: Request) -> dict[str, Any]:
    return await _records("enforcement", body, request, native.enforcement_from, True)
