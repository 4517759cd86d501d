"""Media hashing and bank look-up, with the subset of Meta's Hasher-Matcher-Actioner (HMA) API its clients
use: ``/h/hash``, ``/m/raw_lookup``, ``/m/lookup`` and ``/c/banks``. Paths, parameters and answer shapes
follow HMA's (``{"pdq": "..."}`` for a hash, ``{"matches": [...]}`` for a raw look-up, ``{signal_type:
[bank names]}`` for a look-up), so an existing HMA client only needs the base URL and a key.

Differences, on purpose: HMA's ``GET /h/hash?url=`` downloads the URL; this server never fetches URLs a
caller names (that would let any key make the server reach internal addresses) - POST the file instead.
The media work itself is the media capability's (:mod:`bastion.media.service`); this module is the HTTP
edge.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile

from bastion.api.errors import ApiError
from bastion.api.keys import Principal, Role
from bastion.api.security import app_state, require, roles
from bastion.api.state import AppState

router = APIRouter(tags=["media (HMA-compatible)"])
LOOKUP = roles(Role.INTEGRATOR, Role.ADMIN)
CONTENT_TYPES = ("photo", "video")


class MediaAdapter:
    """The media capability bound to this server: banks from the store (or the live media detector's own
    bank set, so curation and the pipeline see the same banks), guarded by the pipeline lock."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        from bastion.media import service
        from bastion.store.media import MediaBankStore

        self.service: Any = service
        self.store = MediaBankStore(state.engine)
        self._bankset: Any = None

    def _detector(self) -> Any:
        return next((d for d in self.state.pipeline.detectors if d.name == "media"), None)

    def bankset(self) -> Any:
        det = self._detector()
        if det is not None:
            return det.bankset
        if self._bankset is None:
            self._bankset = self.store.load_bankset()
        return self._bankset

    def reload(self) -> None:
        fresh = self.store.load_bankset()
        det = self._detector()
        if det is not None:
            det.bankset = fresh
        self._bankset = fresh


def media(request: Request) -> MediaAdapter:
    cached = getattr(request.app.state, "media_adapter", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    try:
        adapter = MediaAdapter(app_state(request))
    except ImportError as exc:
        raise ApiError(503, f"media matching is not installed: {exc}") from None
    request.app.state.media_adapter = adapter
    return adapter


async def _one_file(request: Request) -> tuple[str, bytes]:
    """HMA's upload convention: one multipart file whose field name is the content type."""
    async with request.form() as form:
        files = [(name, v) for name, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise ApiError(400, "missing multipart/form-data file upload (field name: photo or video)")
        if len(files) > 1:
            raise ApiError(400, "only one file allowed per request")
        name, upload = files[0]
        if name not in CONTENT_TYPES:
            raise ApiError(400, f"no such content_type: {name!r}; use one of {', '.join(CONTENT_TYPES)}")
        data = await upload.read()
    if not data:
        raise ApiError(400, "the uploaded file is empty")
    return name, data


def _no_url(url: str | None) -> None:
    if url:
        raise ApiError(400, "this server does not fetch URLs; POST the file as multipart/form-data "
                            "(field photo or video)", code="url_fetch_disabled")


@router.get("/h/hash", summary="HMA: hash media at a URL (refused: POST the file)", **LOOKUP)
def hash_url(url: str | None = Query(None, max_length=2000)) -> dict[str, str]:
    _no_url(url)
    raise ApiError(400, "url is required (and not supported here: POST the file)")


@router.post("/h/hash", summary="HMA: hash an uploaded file", **LOOKUP)
async def hash_post(request: Request) -> dict[str, str]:
    content_type, data = await _one_file(request)
    m = media(request)
    result: dict[str, str] = m.service.hash_content(data, content_type=content_type)
    return result


@router.get("/m/raw_lookup", summary="HMA: look a hash up in the index", **LOOKUP)
def raw_lookup(request: Request, signal: str = Query(max_length=20_000), signal_type: str = Query(max_length=32),
               include_distance: bool = False) -> dict[str, Any]:
    m = media(request)
    with m.state.lock:
        result: dict[str, Any] = m.service.raw_lookup(m.bankset(), signal, signal_type,
                                                       include_distance=include_distance)
    return result


@router.get("/m/lookup", summary="HMA: banks matching a hash", **LOOKUP)
def lookup_get(request: Request, signal: str | None = Query(None, max_length=20_000),
               signal_type: str | None = Query(None, max_length=32),
               url: str | None = Query(None, max_length=2000), seed: str | None = Query(None, max_length=200)
               ) -> list[str]:
    _no_url(url)
    if not signal or not signal_type:
        raise ApiError(400, "signal and signal_type are required")
    m = media(request)
    with m.state.lock:
        banks: list[str] = m.service.lookup(m.bankset(), signal, signal_type, seed=seed)
    return banks


@router.post("/m/lookup", summary="HMA: banks matching an uploaded file", **LOOKUP)
async def lookup_post(request: Request) -> dict[str, Any]:
    content_type, data = await _one_file(request)
    m = media(request)
    with m.state.lock:
        result: dict[str, Any] = m.service.lookup_content(m.bankset(), data, content_type=content_type,
                                                          seed=request.query_params.get("seed"))
    return result


@router.get("/c/banks", summary="HMA: list banks", **roles(Role.INTEGRATOR, Role.REVIEWER, Role.ADMIN))
def banks(request: Request) -> list[dict[str, Any]]:
    m = media(request)
    with m.state.lock:
        result: list[dict[str, Any]] = m.service.list_banks(m.bankset())
    return result


@router.post("/c/banks", summary="HMA: create a bank", **roles(Role.ADMIN))
async def create_bank(request: Request, principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    form: Any = await request.json() if ctype.startswith("application/json") else dict(await request.form())
    name = str(form.get("name") or "")
    if not name or not name.replace("_", "").isalnum() or not name.isupper():
        raise ApiError(422, "bank name must be UPPER_CASE letters, digits and underscores")
    try:
        ratio = float(form.get("enabled_ratio", form.get("matching_enabled_ratio", 1.0)))
    except (TypeError, ValueError):
        raise ApiError(422, "enabled_ratio must be a number between 0 and 1") from None
    m = media(request)
    from bastion.media.banks import model
    try:
        config = model.BankConfig(name=name, enabled_ratio=ratio)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    with m.state.lock:
        if name in m.bankset().banks:
            raise ApiError(409, f"bank {name!r} already exists")
        created = m.store.create_bank(config)
        m.reload()
    _audit(request, principal, "bank.create", f"bank:{name}", {"enabled_ratio": ratio})
    out: dict[str, Any] = {"name": created.name, "matching_enabled_ratio": created.enabled_ratio,
                           **created.to_json()}
    return out


@router.get("/c/bank/{bank_name}", summary="HMA: one bank", **roles(Role.INTEGRATOR, Role.REVIEWER, Role.ADMIN))
def bank(bank_name: str, request: Request) -> dict[str, Any]:
    m = media(request)
    with m.state.lock:
        bank = m.bankset().bank(bank_name)
        counts = m.bankset().counts().get(bank_name, {})
    out: dict[str, Any] = {"name": bank.name, "matching_enabled_ratio": bank.enabled_ratio, **bank.to_json(),
                           "counts": counts}
    return out


@router.post("/c/bank/{bank_name}/content", summary="HMA: add media to a bank", **roles(Role.ADMIN))
async def add_content(bank_name: str, request: Request,
                      principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    content_type, data = await _one_file(request)
    m = media(request)
    from bastion.media.banks import model
    signals = m.service.hash_content(data, content_type=content_type)
    with m.state.lock:
        m.bankset().bank(bank_name)  # NotFound before anything is written
        entries = [model.BankEntry(bank=bank_name, signal_type=st, signal=sig) for st, sig in signals.items()]
        added, skipped = m.store.add_entries(entries)
        m.reload()
    _audit(request, principal, "bank.add_content", f"bank:{bank_name}", {"signals": signals})
    return {"bank": bank_name, "signals": signals, "added": added, "already_banked": skipped}


def _audit(request: Request, principal: Principal, event: str, subject: str, payload: dict[str, Any]) -> None:
    from bastion.audit.log import AuditLog

    state = app_state(request)
    with state.engine.begin() as conn:
        AuditLog().append(conn, event, principal.actor, subject, payload, now=state.clock())
