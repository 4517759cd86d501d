"""Bastion's native JSONL format: one object per line, ``"type"`` says which record it is.

The schema is published as JSON Schema in ``docs/schema/native.schema.json``; see ``docs/formats.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from bastion.errors import RecordError
from bastion.ingest.base import (
    MAX_TEXT_CHARS,
    Item,
    as_str,
    extract_hashtags,
    extract_mentions,
    extract_urls,
    iter_lines,
    media_from,
    opt_int,
    opt_str,
    opt_time,
    parse_json_line,
    parse_time,
    quarantine,
    req_str,
    str_tuple,
)
from bastion.records import (
    EMPTY,
    Account,
    AccountId,
    Edge,
    EdgeKind,
    EnforcementEvent,
    EnforcementKind,
    Post,
    PostId,
    Record,
    Report,
    ReporterKind,
    ReportId,
    TargetKind,
)

TYPES = ("post", "account", "edge", "report", "enforcement")
#: The EU terrorist-content regulation gives hosting providers one hour to act on a removal order.
REMOVAL_ORDER_DEADLINE = timedelta(hours=1)


def _enum(enum: type[Any], obj: Mapping[str, Any], key: str, rid: str | None, default: Any = None) -> Any:
    value = obj.get(key)
    if value is None:
        if default is not None:
            return default
        raise RecordError("missing", field=key, record_id=rid)
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise RecordError(f"{value!r:.40} is not one of: {allowed}", field=key, record_id=rid) from None


def _meta(obj: Mapping[str, Any], rid: str) -> Mapping[str, Any]:
    meta = obj.get("meta")
    if meta is None:
        return EMPTY
    if not isinstance(meta, dict):
        raise RecordError("expected an object", field="meta", record_id=rid)
    return meta


def post_from(obj: Mapping[str, Any], source: str = "native") -> Post:
    rid = req_str(obj, "id")
    text = obj.get("text")
    if text is None:
        raise RecordError("missing", field="text", record_id=rid)
    text = as_str(text, "text", rid, MAX_TEXT_CHARS)
    account = opt_str(obj, "account_id", rid) or opt_str(obj, "account", rid)
    if not account:
        raise RecordError("missing", field="account_id", record_id=rid)
    media = obj.get("media") or ()
    if not isinstance(media, list | tuple):
        raise RecordError("expected a list", field="media", record_id=rid)
    return Post(
        id=PostId(rid),
        account_id=AccountId(account),
        text=text,
        created_at=opt_time(obj, "created_at", rid),
        lang=opt_str(obj, "lang", rid),
        hashtags=str_tuple(obj, "hashtags", rid) if "hashtags" in obj else extract_hashtags(text),
        mentions=str_tuple(obj, "mentions", rid) if "mentions" in obj else extract_mentions(text),
        urls=str_tuple(obj, "urls", rid) if "urls" in obj else extract_urls(text),
        media=tuple(media_from(m, "media", rid) for m in media),
        reply_to=_opt_post(obj, "reply_to", rid),
        repost_of=_opt_post(obj, "repost_of", rid),
        quote_of=_opt_post(obj, "quote_of", rid),
        source=source,
        meta=_meta(obj, rid),
    )


def _opt_post(obj: Mapping[str, Any], key: str, rid: str) -> PostId | None:
    value = opt_str(obj, key, rid)
    return PostId(value) if value else None


def account_from(obj: Mapping[str, Any], source: str = "native") -> Account:
    rid = req_str(obj, "id")
    avatar = obj.get("avatar")
    verified = obj.get("verified", False)
    if not isinstance(verified, bool):
        raise RecordError("expected true or false", field="verified", record_id=rid)
    return Account(
        id=AccountId(rid),
        handle=opt_str(obj, "handle", rid) or rid,
        display_name=opt_str(obj, "display_name", rid) or "",
        bio=opt_str(obj, "bio", rid) or "",
        location=opt_str(obj, "location", rid) or "",
        created_at=opt_time(obj, "created_at", rid),
        followers=opt_int(obj, "followers", rid),
        following=opt_int(obj, "following", rid),
        statuses=opt_int(obj, "statuses", rid),
        verified=verified,
        avatar=media_from(avatar, "avatar", rid) if avatar else None,
        links=str_tuple(obj, "links", rid),
        identifiers=str_tuple(obj, "identifiers", rid),
        updated_at=opt_time(obj, "updated_at", rid),
        source=source,
        meta=_meta(obj, rid),
    )


def edge_from(obj: Mapping[str, Any]) -> Edge:
    src = req_str(obj, "src")
    rid = f"{src}->{obj.get('dst')}"
    return Edge(
        src=AccountId(src),
        dst=AccountId(req_str(obj, "dst", rid)),
        kind=_enum(EdgeKind, obj, "kind", rid),
        created_at=opt_time(obj, "created_at", rid),
        post_id=_opt_post(obj, "post_id", rid),
    )


def report_from(obj: Mapping[str, Any]) -> Report:
    rid = req_str(obj, "id")
    reporter = _enum(ReporterKind, obj, "reporter_kind", rid)
    created = parse_time(obj.get("created_at"), "created_at", rid)
    deadline = opt_time(obj, "deadline", rid)
    if deadline is None and reporter == ReporterKind.AUTHORITY:
        deadline = created + REMOVAL_ORDER_DEADLINE
    return Report(
        id=ReportId(rid),
        target_kind=_enum(TargetKind, obj, "target_kind", rid, TargetKind.POST),
        target_id=req_str(obj, "target_id", rid),
        reporter_kind=reporter,
        created_at=created,
        reason=opt_str(obj, "reason", rid) or "",
        reporter_id=opt_str(obj, "reporter_id", rid),
        deadline=deadline,
    )


def enforcement_from(obj: Mapping[str, Any]) -> EnforcementEvent:
    rid = req_str(obj, "id")
    return EnforcementEvent(
        id=rid,
        kind=_enum(EnforcementKind, obj, "kind", rid),
        target_kind=_enum(TargetKind, obj, "target_kind", rid, TargetKind.ACCOUNT),
        target_id=req_str(obj, "target_id", rid),
        created_at=parse_time(obj.get("created_at"), "created_at", rid),
        reason=opt_str(obj, "reason", rid) or "",
        source=opt_str(obj, "source", rid) or "platform",
    )


def record_from(obj: Any) -> Record:
    """Build one record from a native JSON object; raise :class:`RecordError` naming the field on error."""
    if not isinstance(obj, dict):
        raise RecordError(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    if kind == "post":
        return post_from(obj)
    if kind == "account":
        return account_from(obj)
    if kind == "edge":
        return edge_from(obj)
    if kind == "report":
        return report_from(obj)
    if kind == "enforcement":
        return enforcement_from(obj)
    rid = obj.get("id") if isinstance(obj.get("id"), str) else None
    raise RecordError(f"unknown type {kind!r:.40}; expected one of {', '.join(TYPES)}", field="type",
                      record_id=rid)


class NativeReader:
    name = "native"

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.lstrip().split(b"\n", 1)[0]
        try:
            obj = orjson.loads(first)
        except orjson.JSONDecodeError:
            return False
        return isinstance(obj, dict) and obj.get("type") in TYPES

    def read(self, path: Path) -> Iterator[Item]:
        for n, line in iter_lines(path):
            try:
                yield record_from(parse_json_line(line))
            except Exception as exc:
                yield quarantine(path, n, exc, line)
