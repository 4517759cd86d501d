"""ThreatExchange ``/threat_updates`` records, the format python-threatexchange fetches and HMA stores:
``{"id", "indicator", "type", "last_updated", "should_delete", "descriptors": {"data": [{"tags",
"status", "added_on", "reactions", "owner": {"id"}}]}}``, in ``{"data": [...]}``, a JSON list or JSON Lines.

Types: ``HASH_PDQ`` -> pdq, ``HASH_MD5`` / ``HASH_VIDEO_MD5`` -> md5, ``HASH_SHA256`` -> sha256,
``HASH_VPDQ`` -> vpdq. Descriptor tags become tags; a ``NON_MALICIOUS`` status makes the opinion negative,
and a ``DISAGREE_WITH_ALL_CONCLUSIONS`` reaction (or descriptors that disagree) makes it disputed.
``should_delete`` records are tombstones (``Imported.deleted``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bastion.media.banks.model import BankConfig, BankEntry, Opinion
from bastion.media.formats.base import Exported, Imported, entry, labels_from_tags, load_json_records, parse_time

TYPES = {"HASH_PDQ": "pdq", "HASH_MD5": "md5", "HASH_VIDEO_MD5": "md5", "HASH_SHA256": "sha256",
         "HASH_VPDQ": "vpdq"}
_EXPORT_TYPES = {"pdq": "HASH_PDQ", "md5": "HASH_MD5", "sha256": "HASH_SHA256", "vpdq": "HASH_VPDQ"}


def _opinion(descriptors: list[dict[str, Any]]) -> Opinion:
    statuses = {str(d.get("status", "")).upper() for d in descriptors}
    reactions = {str(r).upper() for d in descriptors for r in (d.get("reactions") or [])
                 if isinstance(r, str)}
    if "DISAGREE_WITH_ALL_CONCLUSIONS" in reactions or ("NON_MALICIOUS" in statuses and len(statuses) > 1):
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
            out.deleted.append((st, indicator.lower()))
            continue
        ds = [d for d in descriptors.get("data", []) if isinstance(d, dict)]
        tags = sorted({str(t) for d in ds for t in (d.get("tags") or [])})
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
        reactions = ["DISAGREE_WITH_ALL_CONCLUSIONS"] if e.labels.opinion is Opinion.DISPUTED else []
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
