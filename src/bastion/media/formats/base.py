"""Shared types of the bank file formats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bastion.errors import InputError
from bastion.media.banks.model import BankConfig, BankEntry


@dataclass(slots=True)
class Imported:
    entries: list[BankEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    config: BankConfig | None = None
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (signal_type, signal) tombstones


@dataclass(frozen=True, slots=True)
class Exported:
    written: int
    skipped: int = 0


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def load_json_records(path: Path, list_keys: tuple[str, ...]) -> list[Any]:
    """A JSON document (an object holding a list under one of ``list_keys``, or a list) or JSON Lines."""
    text = read_text(path).strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{n}: not JSON: {exc.msg}") from None
        return records
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for k in list_keys:
            if isinstance(doc.get(k), list):
                return list(doc[k])
        return [doc]
    raise InputError(f"{path}: expected a JSON object or list")


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 strings or epoch seconds to an aware datetime; None when absent or unreadable."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
            return datetime.fromtimestamp(float(value), tz=UTC)
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def entry(bank: str, signal_type: str, signal: str, **kw: Any) -> BankEntry:
    """A validated entry (canonical signal type and signal string); ValueError when malformed."""
    from bastion.media.banks.model import canonical_signal_type
    from bastion.media.hashers import parse_signal

    st = canonical_signal_type(signal_type)
    return BankEntry(bank=bank, signal_type=st, signal=parse_signal(st, signal).signal_str(), **kw)


def labels_from_tags(tags: list[str], *, source: str, opinion: Any) -> Any:
    """Labels from flat tags, reading back ``entity:``, ``behaviour:``, ``source:`` and ``confidence:``
    tags that our exports write (other tags are kept as tags)."""
    from bastion.media.banks.model import EntryLabels

    fields: dict[str, Any] = {"source": source, "opinion": opinion}
    rest = []
    for t in tags:
        k, sep, v = t.partition(":")
        if sep and k in ("entity", "behaviour", "source") and v:
            fields[k] = v
        elif sep and k == "confidence":
            try:
                fields["confidence"] = min(1.0, max(0.0, float(v)))
            except ValueError:
                rest.append(t)
        elif not (sep and k == "opinion"):
            rest.append(t)
    return EntryLabels(tags=tuple(rest), **fields)
