"""ThreatExchange ``/threat_updates`` records, the format python-threatexchange fetches and HMA stores:
``{"id", "indicator", "type", "last_updated", "should_delete", "descriptors": {"data": [{"tags",
"status", "added_on", "reactions", "owner": {"id"}}]}}``, in ``{"data": [...]}``, a JSON list or JSON Lines.

Types (as python-threatexchange maps them): ``HASH_PDQ`` -> pdq, ``HASH_MD5`` / ``HASH_VIDEO_MD5`` -> md5,
``HASH_SHA256`` / ``HASH_VIDEO_SHA256`` -> sha256, ``HASH_VPDQ`` -> vpdq, ``URI`` / ``RAW_URI`` /
``UNCLICKABLE_URL`` -> url, ``HASH_URL_MD5`` -> url_md5, ``TEXT_STRING`` / ``DEBUG_STRING`` -> raw_text.

Descriptor tags become tags, whether a list of names (as pytx rewrites them) or the Graph API's
``{"data": [{"text": ...}]}``. A ``NON_MALICIOUS`` status makes the opinion negative. Reactions, as the API
sends them (``[{"key": "DISAGREE_WITH_TAGS", "value": "<owner ids>"}]``) or as a list of names: a
``DISAGREE_WITH_TAGS`` / ``DISAGREE_WITH_ALL_CONCLUSIONS`` reaction, or descriptors that disagree, makes it
disputed. ``should_delete`` records (or records without descriptors) are tombstones (``Imported.deleted``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bastion.media.banks.model import BankConfig, BankEntry, Opinion
from bastion.media.formats.base import Exported, Imported, entry, labels_from_tags, load_json_records, parse_time
from bastion.media.hashers import parse_signal

TYPES = {"HASH_PDQ": "pdq", "HASH_MD5": "md5", "HASH_VIDEO_MD5": "md5", "HASH_SHA256": "sha256",
         "HASH_VIDEO_SHA256": "sha256", "HASH_VPDQ": "vpdq", "URI": "url", "RAW_URI": "url",
         "UNCLICKABLE_URL": "url", "HASH_URL_MD5": "url_md5", "TEXT_STRING": "raw_text", "DEBUG_STRING": "raw_text"}
_EXPORT_TYPES = {"pdq": "HASH_PDQ", "md5": "HASH_MD5", "sha256": "HASH_SHA256", "vpdq": "HASH_VPDQ", "url": "URI",
                 "url_md5": "HASH_URL_MD5", "raw_text": "TEXT_STRING"}
_DISAGREE = {"DISAGREE_WITH_TAGS", "DISAGREE_WITH_ALL_CONCLUSIONS"}


def _names(value: Any, key: str) -> list[str]:
    """Names from a list of strings, a list of objects holding ``key``, or ``{"data": [...]}`` of either."""
    if isinstance(value, dict):
        value = value.get("data")
    if not isinstance(value, list):
        return []
    out = []
    for v in value:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict) and isinstance(v.get(key), str):
            out.append(v[key])
    return out


def _canonical(signal_type: str, signal: str) -> str:
    try:
        return parse_signal(signal_type, signal).signal_str()
    except ValueError:
        return signal.lower()


def _opinion(descriptors: list[dict[str, Any]]) -> Opinion:
    statuses = {str(d.get("status", "")).upper() for d in descriptors}
    reactions = {r.upper() for d in descriptors for f in ("reactions", "my_reactions")
                 for r in _names(d.get(f), "key")}
    if reactions & _DISAGREE or ("NON_MALICIOUS" in statuses and len(statuses) > 1):
        return Opinion.DISPUTED
    if statuses == {"NON_MALICIOUS"}:
        return Opinion.NEGATIVE
    return Opinion.POSITIVE


def read(path: Path, bank: str) -> Imported:
    out = Imported()
    for n, rec in enumerate(load_json_records(path, ("data",)), 1):
        where = f"{path.name}:record {n}"
        if not isinstance(rec, dict):
            out.skipped.append((where, "not an object"))
            continue
        st = TYPES.get(str(rec.get("type", "")).upper())
        if st is None:
            out.skipped.append((where, f"unsupported indicator type {rec.get('type')!r}"))
            continue
        indicator = str(rec.get("indicator", "")).strip()
        descriptors = rec.get("descriptors")
        if rec.get("should_delete") or not isinstance(descriptors, dict):
            out.deleted.append((st, _canonical(st, indicator)))
            continue
        ds = [d for d in descriptors.get("data", []) if isinstance(d, dict)]
        tags = sorted({t for d in ds for t in _names(d.get("tags"), "text")})
        added = min((t for d in ds if (t := parse_time(d.get("added_on"))) is not None), default=None)
        try:
            out.entries.append(entry(
                bank, st, indicator, labels=labels_from_tags(tags, source="threatexchange",
                                                             opinion=_opinion(ds)),
                external_id=str(rec["id"]) if rec.get("id") is not None else None, added_at=added))
        except ValueError as exc:
            out.skipped.append((where, str(exc)))
    return out


def write(path: Path, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    data = []
    for e in entries:
        status = "NON_MALICIOUS" if config.negative or e.labels.opinion is Opinion.NEGATIVE else "MALICIOUS"
        reactions = [{"key": "DISAGREE_WITH_TAGS", "value": "0"}] if e.labels.opinion is Opinion.DISPUTED else []
        added = (e.added_at or datetime.now(UTC)).isoformat()
        data.append({"id": e.external_id or str(e.id), "indicator": e.signal, "type": _EXPORT_TYPES[e.signal_type],
                     "last_updated": int((e.added_at or datetime.now(UTC)).timestamp()),
                     "should_delete": False,
                     "descriptors": {"data": [{"tags": _tags(e), "status": status,
                                               "added_on": added, "reactions": reactions}]}})
    path.write_text(json.dumps({"data": data}, indent=1), encoding="utf-8")
    return Exported(len(data))


def _tags(e: BankEntry) -> list[str]:
    tags = [t for t in e.labels.names() if not t.startswith("opinion:")]
    if e.labels.confidence < 1.0:
        tags.append(f"confidence:{e.labels.confidence:g}")
    return tags
