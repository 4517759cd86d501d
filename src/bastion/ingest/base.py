"""Shared pieces of every reader: the item type readers yield, quarantine, and field coercion.

A reader yields :class:`Item` objects in input order: either a parsed record, or a :class:`Quarantined`
entry naming the file, line, record id (when known), field and reason. Readers never raise on bad content;
they raise only when the file itself cannot be opened.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from bastion.errors import RecordError
from bastion.records import Media, MediaId, MediaKind, Record

MAX_LINE_BYTES = 1 << 20  # one record; anything larger is quarantined unparsed
MAX_TEXT_CHARS = 25_000  # well above any platform's post limit
MAX_FIELD_CHARS = 5_000  # names, bios, urls, reasons
MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

HASHTAG_RE = re.compile(r"(?<![\w&])[#＃](\w+)", re.UNICODE)
MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,50})", re.UNICODE)
URL_RE = re.compile(r"https?://\S+")


@dataclass(frozen=True, slots=True)
class Quarantined:
    file: str
    line: int
    reason: str
    record_id: str | None = None
    field: str | None = None
    raw: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "record_id": self.record_id, "field": self.field,
                "reason": self.reason, "raw": self.raw[:2000]}


Item = Record | Quarantined


class Reader(Protocol):
    """A format: ``name`` for ``--format``, ``sniff`` for ``--format auto``, ``read`` to stream items."""

    name: str

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path) -> Iterator[Item]: ...


def quarantine(path: Path, line: int, exc: Exception, raw: bytes | str = b"") -> Quarantined:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if isinstance(exc, RecordError):
        return Quarantined(str(path), line, exc.reason, exc.record_id, exc.field, text)
    if isinstance(exc, orjson.JSONDecodeError):
        return Quarantined(str(path), line, f"bad JSON: {exc}", raw=text)
    return Quarantined(str(path), line, f"{type(exc).__name__}: {exc}", raw=text)


def iter_raw_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """Every line of a file as ``(number, bytes, over_limit)``, blank ones included, in bounded memory.

    A line is never held beyond ``MAX_LINE_BYTES + 1`` bytes: a longer one yields that much with
    ``over_limit`` set, and the rest of it is read and dropped in chunks, so memory stays bounded whatever the
    input.
    """
    with path.open("rb") as fh:
        n = 0
        while line := fh.readline(MAX_LINE_BYTES + 2):
            n += 1
            if len(line) == MAX_LINE_BYTES + 2 and not line.endswith(b"\n"):
                while (rest := fh.readline(1 << 16)) and not rest.endswith(b"\n"):
                    pass
                yield n, line[:MAX_LINE_BYTES + 1], True
            else:
                yield n, line, len(line.rstrip(b"\r\n")) > MAX_LINE_BYTES


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Numbered non-blank lines of a file, read in binary (UTF-8 validity is checked by the JSON parser).

    A line over the limit yields its first ``MAX_LINE_BYTES + 1`` bytes, which :func:`parse_json_line`
    rejects; memory stays bounded (see :func:`iter_raw_lines`).
    """
    for n, line, over in iter_raw_lines(path):
        if over or not line.isspace():
            yield n, line


def parse_json_line(line: bytes) -> Any:
    if len(line.rstrip(b"\r\n")) > MAX_LINE_BYTES:
        raise RecordError(f"record over the {MAX_LINE_BYTES}-byte limit")
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if "utf-8" in str(exc).lower() or "surrogate" in str(exc).lower():
            raise RecordError("invalid UTF-8") from exc
        raise


# -- field coercion ------------------------------------------------------------------------------------

def req_str(obj: Mapping[str, Any], key: str, rid: str | None = None, limit: int = MAX_FIELD_CHARS) -> str:
    value = obj.get(key)
    if value is None or value == "":
        raise RecordError("missing", field=key, record_id=rid)
    return as_str(value, key, rid, limit)


#: Fields that name something and may come as JSON numbers (platforms' numeric ids); every other text field
#: must be a string, so ``"text": 123`` is quarantined rather than read as the post "123".
_NUMBER_OK = frozenset({"id", "id_str", "account", "src", "dst", "reply_to", "repost_of", "quote_of"})


def as_str(value: Any, key: str, rid: str | None = None, limit: int = MAX_FIELD_CHARS) -> str:
    if isinstance(value, str):
        s = value
    elif isinstance(value, int) and not isinstance(value, bool) and (key in _NUMBER_OK or key.endswith("_id")):
        s = str(value)
    else:
        raise RecordError(f"expected a string, got {type(value).__name__}", field=key, record_id=rid)
    if len(s) > limit:
        raise RecordError(f"{len(s)} characters exceeds the {limit}-character limit", field=key, record_id=rid)
    return s


def opt_str(obj: Mapping[str, Any], key: str, rid: str | None = None, limit: int = MAX_FIELD_CHARS) -> str | None:
    value = obj.get(key)
    return None if value is None or value == "" else as_str(value, key, rid, limit)


def opt_int(obj: Mapping[str, Any], key: str, rid: str | None = None) -> int | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError("expected an integer, got a boolean", field=key, record_id=rid)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.replace(",", "").strip())
        except ValueError:
            pass
    raise RecordError(f"expected an integer, got {value!r:.40}", field=key, record_id=rid)


def str_tuple(obj: Mapping[str, Any], key: str, rid: str | None = None) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecordError("expected a list", field=key, record_id=rid)
    return tuple(as_str(v, key, rid) for v in value)


# Month-first wins where a date is ambiguous (the US layouts of the Twitter-era CSVs); day-first is tried
# only when month-first cannot be right (e.g. 27/8/18).
_TIME_FORMATS = ("%a %b %d %H:%M:%S %z %Y", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S",
                 "%Y-%m-%d %H:%M:%S", "%d/%m/%y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")


def parse_time(value: Any, key: str, rid: str | None = None, *, now: datetime | None = None) -> datetime:
    """ISO 8601, epoch seconds, Twitter's v1.1 format, RFC 2822 or the CSV formats; always timezone-aware.

    Naive times are taken as UTC. Times before 2000 or more than a day in the future are impossible for a
    post and are rejected.
    """
    dt: datetime | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            dt = datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"impossible timestamp {value!r}", field=key, record_id=rid) from None
    elif isinstance(value, str) and value:
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in _TIME_FORMATS:
                try:
                    dt = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            if dt is None:
                try:
                    dt = parsedate_to_datetime(text)
                except (TypeError, ValueError):
                    dt = None
    if dt is None:
        raise RecordError(f"unreadable timestamp {value!r:.60}", field=key, record_id=rid)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    limit = (now or datetime.now(UTC)) + FUTURE_SLACK
    if dt < MIN_TIME or dt > limit:
        raise RecordError(f"impossible timestamp {dt.isoformat()}", field=key, record_id=rid)
    return dt


def opt_time(obj: Mapping[str, Any], key: str, rid: str | None = None) -> datetime | None:
    value = obj.get(key)
    return None if value is None or value == "" else parse_time(value, key, rid)


def extract_hashtags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(HASHTAG_RE.findall(text))) if "#" in text or "＃" in text else ()


def extract_mentions(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(MENTION_RE.findall(text))) if "@" in text else ()


def extract_urls(text: str) -> tuple[str, ...]:
    return tuple(URL_RE.findall(text)) if "http" in text else ()


def media_from(obj: Any, key: str, rid: str | None) -> Media:
    if not isinstance(obj, dict):
        raise RecordError("media must be an object", field=key, record_id=rid)
    mid = opt_str(obj, "id", rid) or opt_str(obj, "sha256", rid) or opt_str(obj, "path", rid) or opt_str(
        obj, "url", rid)
    if not mid:
        raise RecordError("media needs an id, sha256, path or url", field=key, record_id=rid)
    kind_text = opt_str(obj, "kind", rid) or opt_str(obj, "type", rid) or "image"
    kind = MediaKind.VIDEO if kind_text in ("video", "animated_gif", "gifv") else MediaKind.IMAGE
    return Media(id=MediaId(mid), kind=kind, url=opt_str(obj, "url", rid), path=opt_str(obj, "path", rid),
                 md5=opt_str(obj, "md5", rid), sha256=opt_str(obj, "sha256", rid), pdq=opt_str(obj, "pdq", rid))
