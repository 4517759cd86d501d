"""HMA 2.0 (OpenMediaMatch) on the wire: the routes, request and answer shapes, status codes and signal types
its clients use (ROOST's Coop among them), so an HMA client only needs the base URL, and a key or a trusted
gateway (``docs/hma.md``).

* hashing: ``GET /h/hash?url=`` (fetched behind ``bastion.media.fetch``'s SSRF guards), ``POST /h/hash``;
* matching: ``GET|POST /m/lookup`` (``{"BANK": [{"bank_content_id", "distance"}]}``, HMA's coin flip,
  ``banks=``, ``seed``, ``bypass_coinflip``), ``GET /m/raw_lookup``, ``POST /m/compare``,
  ``GET /m/index/status``;
* curation: ``/c/banks``, ``/c/bank/{bank}`` (GET, PUT, DELETE), ``/c/bank/{bank}/content`` (file or URL,
  ``metadata``, ``note``), ``/c/bank/{bank}/content/{id}`` (GET, PUT, DELETE), ``/c/bank/{bank}/signal``,
  ``/c/signal_type``, ``/c/content_type``, ``/c/exchanges`` and ``/c/exchange/{name}`` (Bastion's exchange
  collaborations, ``bastion exchange``);
* ``/status``, ``/status/live`` (unauthenticated health checks, as HMA's) and ``/site-map``.

Banks live in the store; this server's bank set is reloaded when the store changes (checked at most every
:data:`RELOAD_CHECK_S` seconds), so content banked by another process (``bastion bank import``, an exchange
fetch) is matched within seconds, without a restart. Errors keep Bastion's JSON error body; status codes are
HMA's. The media work is the media capability's (:mod:`bastion.media.service`); this module is the HTTP edge.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.datastructures import UploadFile

from bastion.api.errors import ApiError
from bastion.api.keys import Principal, Role
from bastion.api.security import app_state, require, roles
from bastion.api.state import AppState
from bastion.errors import InputError, NotFound

router = APIRouter(tags=["media (HMA 2.0)"])
LOOKUP = roles(Role.INTEGRATOR, Role.ADMIN)
READ = roles(Role.INTEGRATOR, Role.REVIEWER, Role.ADMIN)
CURATE = roles(Role.ADMIN)
CONTENT_TYPES = ("photo", "video")
RELOAD_CHECK_S = 1.0
_BANK_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_FIVE_YEARS_S = 5 * 365 * 24 * 3600
_METADATA_KEYS = {"content_id", "content_uri", "json"}


class MediaAdapter:
    """The media capability bound to this server: banks from the store (shared with the live media
    detector, so curation and the pipeline see the same banks), reloaded when the store changes."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        from bastion.media import service
        from bastion.store.media import MediaBankStore

        self.service: Any = service
        self.store = MediaBankStore(state.engine)
        self._bankset: Any = None
        self._version: Any = None
        self._checked = 0.0
        self.built_at = 0

    def _detector(self) -> Any:
        return next((d for d in self.state.pipeline.detectors if d.name == "media"), None)

    def bankset(self) -> Any:
        """The current banks (call under ``state.lock``); reloaded when the store's content changed."""
        now = time.monotonic()
        if self._bankset is None or now - self._checked >= RELOAD_CHECK_S:
            self._checked = now
            version = self.store.version()
            if self._bankset is None or version != self._version:
                self._version = version
                self.reload()
        return self._bankset

    def reload(self) -> None:
        fresh = self.store.load_bankset()
        det = self._detector()
        if det is not None:
            det.bankset = fresh
        self._bankset = fresh
        self._version = self.store.version()
        self.built_at = int(time.time())

    def fetcher(self) -> Any:
        config = self.state.config
        if not config.media_fetch:
            raise ApiError(403, "Hashing by URL is disabled on this server (BASTION_MEDIA_FETCH=0)")
        from bastion.media.fetch import FetchPolicy, MediaFetcher

        return MediaFetcher(FetchPolicy(allow_hosts=config.media_hosts, allow_private=config.media_fetch_private,
                                        max_bytes=config.max_upload_bytes))


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


def _banks_param(banks: str | None) -> set[str] | None:
    return {b for b in banks.split(",") if b} if banks else None


async def _form(request: Request) -> tuple[str | None, bytes | None, dict[str, str]]:
    """HMA's upload convention: one multipart file whose field name is the content type, plus plain fields."""
    fields: dict[str, str] = {}
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None, None, fields
    async with request.form() as form:
        files = [(name, v) for name, v in form.multi_items() if isinstance(v, UploadFile)]
        fields = {name: v for name, v in form.multi_items() if isinstance(v, str)}
        if not files:
            return None, None, fields
        if len(files) > 1:
            raise ApiError(400, "Only one file allowed per request")
        name, upload = files[0]
        if name not in CONTENT_TYPES:
            raise ApiError(400, f"no such content_type: '{name}'")
        data = await upload.read()
    if not data:
        raise ApiError(400, "the uploaded file is empty")
    return name, data, fields


def _fetch(m: MediaAdapter, url: str, content_type: str | None) -> dict[str, str]:
    from bastion.media.decode import MediaError

    try:
        data = m.fetcher().fetch(url)
    except MediaError as exc:
        raise ApiError(400, f"Failed to fetch URL: {exc}", code="fetch_failed") from None
    ctype = content_type or ("video" if _is_video(data) else "photo")
    if ctype not in CONTENT_TYPES:
        raise ApiError(400, f"no such content_type: '{ctype}'")
    result: dict[str, str] = m.service.hma_hash(data, ctype)
    return result


def _is_video(data: bytes) -> bool:
    from bastion.media.decode import sniff_kind

    return sniff_kind(data[:512]) == "video"


def _types(hashes: dict[str, str], types: str | None) -> dict[str, str]:
    if not types:
        return hashes
    wanted = {t.strip() for t in types.split(",") if t.strip()}
    return {k: v for k, v in hashes.items() if k in wanted}


# -- hashing -----------------------------------------------------------------------------------------------

@router.get("/h/hash", summary="HMA: hash the media at a URL", **LOOKUP)
def hash_url(request: Request, url: str = Query(max_length=4000), content_type: str | None = Query(None),
             types: str | None = Query(None, max_length=200)) -> dict[str, str]:
    return _types(_fetch(media(request), url, content_type), types)


@router.post("/h/hash", summary="HMA: hash an uploaded file", **LOOKUP)
async def hash_post(request: Request) -> dict[str, str]:
    content_type, data, _ = await _form(request)
    if data is None or content_type is None:
        raise ApiError(400, "Missing multipart/form-data file upload")
    result: dict[str, str] = media(request).service.hma_hash(data, content_type)
    return result


# -- matching ----------------------------------------------------------------------------------------------

@router.get("/m/raw_lookup", summary="HMA: look a hash up in the index (no enabled checks)", **LOOKUP)
def raw_lookup(request: Request, signal: str = Query(max_length=20_000), signal_type: str = Query(max_length=32),
               include_distance: bool = False, banks: str | None = Query(None, max_length=2000)) -> dict[str, Any]:
    m = media(request)
    with m.state.lock:
        result: dict[str, Any] = m.service.hma_raw_lookup(m.bankset(), signal, signal_type,
                                                           banks=_banks_param(banks),
                                                           include_distance=include_distance)
    return result


@router.get("/m/lookup", summary="HMA: the banks a hash (or the media at a URL) matches", **LOOKUP)
def lookup_get(request: Request, signal: str | None = Query(None, max_length=20_000),
               signal_type: str | None = Query(None, max_length=32), url: str | None = Query(None, max_length=4000),
               content_type: str | None = Query(None, max_length=16), types: str | None = Query(None, max_length=200),
               banks: str | None = Query(None, max_length=2000), seed: str | None = Query(None, max_length=200),
               bypass_coinflip: bool = False) -> dict[str, Any]:
    m = media(request)
    wanted = _banks_param(banks)
    if url:
        hashes = _types(_fetch(m, url, content_type), types)
        with m.state.lock:
            by_type = {st: m.service.hma_lookup(m.bankset(), sig, st, banks=wanted, seed=seed,
                                                bypass_coinflip=bypass_coinflip) for st, sig in hashes.items()}
        if signal_type is not None:
            selected: dict[str, Any] = by_type.get(signal_type, {})
            return selected
        return by_type
    if not signal or not signal_type:
        raise ApiError(400, "Either url or both signal and signal_type are required")
    with m.state.lock:
        result: dict[str, Any] = m.service.hma_lookup(m.bankset(), signal, signal_type, banks=wanted, seed=seed,
                                                       bypass_coinflip=bypass_coinflip)
    return result


@router.post("/m/lookup", summary="HMA: the banks an uploaded file matches, by signal type", **LOOKUP)
async def lookup_post(request: Request) -> dict[str, Any]:
    content_type, data, _ = await _form(request)
    if data is None or content_type is None:
        raise ApiError(400, "Missing multipart/form-data file upload")
    m = media(request)
    params = request.query_params
    hashes = m.service.hma_hash(data, content_type)
    with m.state.lock:
        return {st: m.service.hma_lookup(m.bankset(), sig, st, banks=_banks_param(params.get("banks")),
                                         seed=params.get("seed"),
                                         bypass_coinflip=params.get("bypass_coinflip", "false") == "true")
                for st, sig in hashes.items()}


@router.post("/m/compare", summary="HMA: the distance between pairs of hashes", **LOOKUP)
async def compare(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "Request input was not a dict") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Request input was not a dict")
    m = media(request)
    out: dict[str, Any] = {}
    for st, pair in body.items():
        if not isinstance(pair, list):
            raise ApiError(400, f"Comparison hashes for {st} was not a list")
        if len(pair) != 2:
            raise ApiError(400, "Comparison hash list length must be exactly 2")
        out[st] = m.service.hma_compare(str(st), str(pair[0]), str(pair[1]))
    return out


@router.get("/m/index/status", summary="HMA: the matching index for each signal type", **LOOKUP)
def index_status(request: Request, signal_type: str | None = Query(None, max_length=32)) -> dict[str, Any]:
    m = media(request)
    names = m.service.HMA_SIGNAL_TYPES
    if signal_type is not None:
        if signal_type not in names:
            raise ApiError(400, f"No such signal type '{signal_type}'")
        names = (signal_type,)
    with m.state.lock:
        bs = m.bankset()
        sizes: dict[str, int] = {}
        for e in bs.entries.values():
            name = m.service.hma_name(e.signal_type)
            sizes[name] = sizes.get(name, 0) + 1
    return {n: {"present": True, "built_to": m.built_at, "size": sizes.get(n, 0)} for n in names}


# -- curation: banks ---------------------------------------------------------------------------------------

def _bank_json(bank: Any) -> dict[str, Any]:
    return {"name": bank.name, "matching_enabled_ratio": bank.enabled_ratio}


async def _json_or_form(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body is not a JSON object")
        return body
    async with request.form() as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


def _ratio(body: dict[str, Any]) -> float | None:
    if body.get("enabled_ratio") is not None:
        try:
            ratio = float(body["enabled_ratio"])  # Coop sends it as a string
        except (TypeError, ValueError):
            raise ApiError(400, "enabled_ratio must be a number between 0 and 1") from None
        if not 0.0 <= ratio <= 1.0:
            raise ApiError(400, "enabled_ratio must be a number between 0 and 1")
        return ratio
    if body.get("enabled") is not None:
        return 1.0 if body["enabled"] in (True, "true", "True", 1, "1") else 0.0
    return None


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _BANK_NAME.match(name) or len(name) > 100:
        raise ApiError(400, "Bank names must be UPPER_WITH_UNDERSCORE and start with a letter")
    return name


@router.get("/c/banks", summary="HMA: list banks", **READ)
def banks(request: Request) -> list[dict[str, Any]]:
    return [_bank_json(b) for b, _ in media(request).store.list_banks()]


@router.post("/c/banks", summary="HMA: create a bank", status_code=201, **CURATE)
async def create_bank(request: Request, principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    body = await _json_or_form(request)
    name = _check_name(body.get("name"))
    ratio = _ratio(body)
    m = media(request)
    from bastion.errors import ConfigError
    from bastion.media.banks.model import BankConfig

    with m.state.lock:
        try:
            m.store.create_bank(BankConfig(name=name, enabled_ratio=1.0 if ratio is None else ratio))
        except ConfigError:
            raise ApiError(403, "Bank already exists") from None
        m.reload()
        created = m.store.get_bank(name)
    _audit(request, principal, "bank.create", f"bank:{name}", {"enabled_ratio": created.enabled_ratio})
    return _bank_json(created)


@router.get("/c/bank/{bank_name}", summary="HMA: one bank", **READ)
def bank(bank_name: str, request: Request) -> dict[str, Any]:
    try:
        return _bank_json(media(request).store.get_bank(bank_name))
    except NotFound:
        raise ApiError(404, f"bank '{bank_name}' not found") from None


@router.put("/c/bank/{bank_name}", summary="HMA: rename or re-ratio a bank", **CURATE)
async def update_bank(bank_name: str, request: Request,
                      principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    from dataclasses import replace

    from bastion.errors import ConfigError

    body = await _json_or_form(request)
    m = media(request)
    new_name = _check_name(body["name"]) if body.get("name") is not None else None
    ratio = _ratio(body)
    with m.state.lock:
        try:
            current = m.store.get_bank(bank_name)
        except NotFound:
            raise ApiError(404, "Bank not found") from None
        if new_name and new_name != bank_name:
            try:
                m.store.rename_bank(bank_name, new_name)
            except ConfigError:
                raise ApiError(403, "Bank name already exists") from None
            current = m.store.get_bank(new_name)
        if ratio is not None:
            current = m.store.update_bank(replace(current, enabled_ratio=ratio))
        m.reload()
    _audit(request, principal, "bank.update", f"bank:{bank_name}",
           {"name": current.name, "enabled_ratio": current.enabled_ratio})
    return _bank_json(current)


@router.delete("/c/bank/{bank_name}", summary="HMA: delete a bank (and its content)", **CURATE)
def delete_bank(bank_name: str, request: Request,
                principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, str]:
    m = media(request)
    with m.state.lock:
        try:
            m.store.delete_bank(bank_name)
            deleted = True
        except NotFound:
            deleted = False  # HMA: deleting a bank that does not exist succeeds
        m.reload()
    if deleted:
        _audit(request, principal, "bank.delete", f"bank:{bank_name}", {})
    return {"message": "Done"}


# -- curation: content -------------------------------------------------------------------------------------

def _metadata(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ApiError(400, "metadata form field must be valid JSON") from None
    if not isinstance(raw, dict):
        raise ApiError(400, "metadata should be a json object")
    raw = {k: v for k, v in raw.items() if k != "collab"}
    unknown = sorted(set(raw) - _METADATA_KEYS)
    if unknown:
        raise ApiError(400, f"Invalid metadata: unexpected field(s) {', '.join(unknown)}")
    for key in ("content_id", "content_uri"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ApiError(400, f"Invalid metadata: {key} must be a string")
    if raw.get("json") is not None and not isinstance(raw["json"], dict):
        raise ApiError(400, "Invalid metadata: json must be an object")
    return {k: v for k, v in raw.items() if v is not None} or None


def _note(raw: Any) -> str | None:
    if not raw:
        return None
    if not isinstance(raw, str):
        raise ApiError(400, "note should be a string")
    if len(raw) > 255:
        raise ApiError(400, "note must be at most 255 characters")
    return raw


def _bank_content(m: MediaAdapter, bank_name: str, signals: dict[str, str], meta: dict[str, Any] | None,
                  note: str | None) -> dict[str, Any]:
    """Bank one item's signals (HMA names -> signal) as one content; HMA's ``{"id", "signals"}``."""
    from bastion.media.banks.model import BankEntry, EntryLabels
    from bastion.media.hashers import parse_signal

    if not signals:
        raise ApiError(400, "No signals given")
    entries = []
    for name, value in signals.items():
        try:
            st = m.service.signal_type_of(name)
        except InputError:
            raise ApiError(400, f"No such signal type {name}") from None
        try:
            canonical = parse_signal(st, str(value)).signal_str()
        except ValueError as exc:
            raise ApiError(400, f"Invalid {name} signal: {exc}") from None
        stored_meta = dict(meta or {})
        entries.append(BankEntry(bank=bank_name, signal_type=st, signal=canonical, labels=EntryLabels(source="hma"),
                                 external_id=(meta or {}).get("content_id"), note=note or "",
                                 meta=stored_meta or None))
    with m.state.lock:
        try:
            m.store.get_bank(bank_name)
        except NotFound:
            raise ApiError(404, f"bank '{bank_name}' not found") from None
        content_id, stored = m.store.add_content(entries)
        m.reload()
    return {"id": content_id, "signals": {m.service.hma_name(e.signal_type): e.signal for e in stored}}


@router.post("/c/bank/{bank_name}/content", summary="HMA: bank media (a file or a URL) as one content", **CURATE)
async def add_content(bank_name: str, request: Request,
                      principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    m = media(request)
    try:
        m.store.get_bank(bank_name)
    except NotFound:
        raise ApiError(404, f"bank '{bank_name}' not found") from None
    params = request.query_params
    content_type, data, fields = await _form(request)
    body: dict[str, Any] = {}
    if data is None and request.headers.get("content-type", "").startswith("application/json"):
        body = await _json_or_form(request)
    meta_raw = body.get("metadata") if body else fields.get("metadata")
    meta = _metadata(meta_raw)
    if fields.get("content_id") or fields.get("content_uri"):  # Coop's multipart convention
        meta = {**(meta or {}), **{k: fields[k] for k in ("content_id", "content_uri") if fields.get(k)}}
    if fields.get("metadata") and meta is not None and "json" not in meta and isinstance(meta_raw, str):
        parsed = json.loads(meta_raw)
        if isinstance(parsed, dict) and not set(parsed) & _METADATA_KEYS:
            meta["json"] = parsed
    note = _note(body.get("note") if body else fields.get("note"))
    if params.get("url"):
        signals = _fetch(m, params["url"], params.get("content_type"))
        signals = _types(signals, params.get("types"))
    elif data is not None and content_type is not None:
        signals = m.service.hma_hash(data, content_type)
    else:
        raise ApiError(400, "Neither `url` nor multipart file upload was received")
    out = _bank_content(m, bank_name, signals, meta, note)
    _audit(request, principal, "bank.add_content", f"bank:{bank_name}", {"content": out["id"],
                                                                        "signals": out["signals"]})
    return out


@router.post("/c/bank/{bank_name}/signal", summary="HMA: bank hashes directly as one content", **CURATE)
async def add_signal(bank_name: str, request: Request,
                     principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    body = await _json_or_form(request)
    note = _note(body.pop("note", None))
    out = _bank_content(media(request), bank_name, {str(k): v for k, v in body.items()}, None, note)
    _audit(request, principal, "bank.add_content", f"bank:{bank_name}", {"content": out["id"],
                                                                        "signals": out["signals"]})
    return out


def _content_json(m: MediaAdapter, bank: Any, entries: list[Any], *, include_signals: bool = False,
                  include_metadata: bool = True) -> dict[str, Any]:
    first = entries[0]
    meta = dict(first.meta or {})
    out: dict[str, Any] = {"id": first.content, "disable_until_ts": int(meta.pop("disable_until_ts", 0) or 0),
                           "original_media_uri": None, "bank": _bank_json(bank)}
    if include_signals:
        out["signals"] = {m.service.hma_name(e.signal_type): e.signal for e in entries}
    if include_metadata and meta:
        out["metadata"] = meta
    if first.note:
        out["note"] = first.note
    return out


def _content(m: MediaAdapter, bank_name: str, content_id: int) -> tuple[Any, list[Any]]:
    try:
        bank = m.store.get_bank(bank_name)
    except NotFound:
        raise ApiError(404, f"bank '{bank_name}' not found") from None
    entries = m.store.content(bank_name, content_id)
    if not entries:
        raise ApiError(404, f"content '{content_id}' not found")
    return bank, entries


@router.get("/c/bank/{bank_name}/content/{content_id}", summary="HMA: one banked content", **READ)
def get_content(bank_name: str, content_id: int, request: Request, include_signals: bool = False,
                include_metadata: bool = True) -> dict[str, Any]:
    m = media(request)
    bank, entries = _content(m, bank_name, content_id)
    return _content_json(m, bank, entries, include_signals=include_signals, include_metadata=include_metadata)


@router.put("/c/bank/{bank_name}/content/{content_id}", summary="HMA: disable for a while, or note", **CURATE)
async def update_content(bank_name: str, content_id: int, request: Request,
                         principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, Any]:
    from bastion.media.banks.model import EntryStatus

    m = media(request)
    bank, entries = _content(m, bank_name, content_id)
    body = await _json_or_form(request)
    meta = dict(entries[0].meta or {})
    status = None
    if "disable_until_ts" in body:
        try:
            until = int(body["disable_until_ts"])
        except (TypeError, ValueError):
            raise ApiError(400, "disable_until_ts must be an integer") from None
        now = datetime.now(UTC).timestamp()
        if until < 0:
            raise ApiError(400, "disable_until_ts must be a non-negative integer")
        if until > now + _FIVE_YEARS_S:
            raise ApiError(400, "disable_until_ts must be less than 5 years in the future")
        meta["disable_until_ts"] = until
        status = EntryStatus.DISABLED if until > now else EntryStatus.ACTIVE
    note = _note(body["note"]) or "" if "note" in body else None
    with m.state.lock:
        entries = m.store.update_content(bank_name, content_id, meta=meta, status=status, note=note)
        m.reload()
    _audit(request, principal, "bank.update_content", f"bank:{bank_name}",
           {"content": content_id, "disable_until_ts": meta.get("disable_until_ts", 0)})
    return _content_json(m, bank, entries)


@router.delete("/c/bank/{bank_name}/content/{content_id}", summary="HMA: remove banked content", **CURATE)
def delete_content(bank_name: str, content_id: int, request: Request,
                   principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, int]:
    m = media(request)
    try:
        m.store.get_bank(bank_name)
    except NotFound:
        raise ApiError(404, f"bank '{bank_name}' not found") from None
    with m.state.lock:
        deleted = m.store.delete_content(bank_name, content_id)
        m.reload()
    _audit(request, principal, "bank.delete_content", f"bank:{bank_name}", {"content": content_id,
                                                                           "deleted": deleted})
    return {"deleted": deleted}


# -- configuration -----------------------------------------------------------------------------------------

@router.get("/c/signal_type", summary="HMA: signal types", **READ)
def signal_types(request: Request) -> list[dict[str, Any]]:
    return [{"name": n, "enabled_ratio": 1.0} for n in media(request).service.HMA_SIGNAL_TYPES]


@router.get("/c/content_type", summary="HMA: content types", **READ)
def content_types() -> list[dict[str, Any]]:
    return [{"name": n, "enabled": True} for n in CONTENT_TYPES]


def _exchanges(request: Request) -> Any:
    from bastion.store.exchanges import ExchangeStore

    return ExchangeStore(app_state(request).engine)


@router.get("/c/exchanges", summary="HMA: exchange collaborations (names)", **READ)
def exchanges(request: Request) -> list[str]:
    return [r["name"] for r in _exchanges(request).list()]


@router.get("/c/exchanges/apis", summary="HMA: exchange APIs this server can use", **READ)
def exchange_apis() -> list[str]:
    from bastion.media.exchange import APIS

    return list(APIS)


@router.get("/c/exchanges/api/{api_name}", summary="HMA: an exchange API's authentication", **READ)
def exchange_api(api_name: str) -> dict[str, Any]:
    from bastion.media.exchange import APIS, api_class

    if api_name not in APIS:
        raise ApiError(404, f"No such exchange API '{api_name}'")
    try:
        cls = api_class(api_name)
        cred = cls.get_credential_cls() if hasattr(cls, "get_credential_cls") else None
    except Exception:  # pytx missing or the API takes no credentials
        cred = None
    has = False
    if cred is not None:
        try:
            has = bool(cred.get(cls))
        except Exception:  # pytx raises when none are set
            has = False
    return {"supports_authentification": cred is not None, "has_set_authentification": has}


@router.post("/c/exchanges", summary="HMA: create a collaboration (and its bank)", status_code=201, **CURATE)
async def create_exchange(request: Request, principal: Principal = Depends(require(Role.ADMIN))) -> dict[str, str]:
    from bastion.errors import ConfigError
    from bastion.media.banks.model import BankConfig
    from bastion.media.exchange import collab_config

    body = await _json_or_form(request)
    bank_name = _check_name(body.get("bank"))
    api = body.get("api")
    api_json = body.get("api_json") or {}
    if not isinstance(api, str) or not api:
        raise ApiError(400, "Field `api_type` is required")
    if not isinstance(api_json, dict):
        raise ApiError(400, "Field `api_json` must be object")
    settings = {k: v for k, v in api_json.items() if k not in ("name", "api", "enabled")}
    try:
        collab_config(api, bank_name, settings)
    except ConfigError as exc:
        raise ApiError(400, f"Failed to parse `api_json` - {exc}") from None
    m = media(request)
    with m.state.lock:
        m.store.create_bank(BankConfig(bank_name), exist_ok=True)
        try:
            _exchanges(request).add(bank_name, api, bank_name, settings)
        except ConfigError:
            raise ApiError(403, "Exchange already exists") from None
        m.reload()
    _audit(request, principal, "exchange.create", f"exchange:{bank_name}", {"api": api})
    return {"message": "Created successfully"}


@router.get("/c/exchange/{exchange_name}", summary="HMA: one collaboration", **READ)
def exchange(exchange_name: str, request: Request) -> dict[str, Any]:
    try:
        row = _exchanges(request).get(exchange_name)
    except NotFound:
        raise ApiError(404, f"Exchange '{exchange_name}' not found") from None
    return {"name": row["name"], "api": row["api"], "enabled": bool(row["enabled"]), "bank": row["bank"],
            **{k: v for k, v in (row["config"] or {}).items() if k != "endpoint"}}


@router.get("/c/exchange/{exchange_name}/status", summary="HMA: a collaboration's fetch status", **READ)
def exchange_status(exchange_name: str, request: Request) -> dict[str, Any]:
    try:
        row = _exchanges(request).get(exchange_name)
    except NotFound:
        raise ApiError(404, f"Exchange '{exchange_name}' not found") from None
    last = row["last_fetch_at"]
    status = row["last_status"] or ""
    ts = int(datetime.fromisoformat(last).timestamp()) if last else None
    return {"last_fetch_succeeded": status.startswith("ok") if status else None, "last_fetch_complete_ts": ts,
            "up_to_date": status.startswith("ok"), "fetched_items": int(row["fetched"] or 0),
            "running_fetch_start_ts": None, "checkpoint_time": ts}


# -- health and map ----------------------------------------------------------------------------------------

@router.get("/status", include_in_schema=False)
def status(request: Request) -> PlainTextResponse:
    """HMA's readiness check: 200 once the banks are loaded (unauthenticated, as HMA's)."""
    try:
        m = media(request)
        with m.state.lock:
            m.bankset()
    except Exception:  # not ready: the store is unreachable or the media capability is missing
        return PlainTextResponse("INDEX-NOT-LOADED", status_code=503)
    return PlainTextResponse("I-AM-ALIVE")


@router.get("/status/live", include_in_schema=False)
def status_live() -> PlainTextResponse:
    return PlainTextResponse("I-AM-ALIVE")


@router.get("/site-map", summary="HMA: every route", **LOOKUP)
def site_map(request: Request) -> list[str]:
    documented = set(request.app.openapi()["paths"])
    top = {p for r in request.app.routes if isinstance(p := getattr(r, "path", None), str)}
    return sorted(documented | top | {"/status", "/status/live"})


def _audit(request: Request, principal: Principal, event: str, subject: str, payload: dict[str, Any]) -> None:
    from bastion.audit.log import AuditLog

    state = app_state(request)
    with state.engine.begin() as conn:
        AuditLog().append(conn, event, principal.actor, subject, payload, now=state.clock())
