"""Tech Against Terrorism's hash list (TCAP ``api/hash-list/v2``): a page
``{"count", "next", "previous", "checkpoint", "results": [...]}`` or a bare list of its entries, each
``{"id", "hash_digest", "algorithm", "ideology", "file_type", "deleted", "updated_on", "created_on"}``.

``algorithm`` is ``PDQ``, ``MD5`` or ``SHA256``; deleted entries are tombstones (returned in
``Imported.deleted`` so an import can remove them); ``ideology`` becomes a tag and ``file_type`` is kept as
a tag as well (``file_type:mp4``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, canonical_signal_type
from bastion.media.formats.base import Exported, Imported, entry, load_json_records, parse_time

_EXPORT_ALGORITHMS = {"pdq": "PDQ", "md5": "MD5", "sha256": "SHA256"}


def read(path: Path, bank: str) -> Imported:
    out = Imported()
    for n, rec in enumerate(load_json_records(path, ("results",)), 1):
        where = f"{path.name}:result {n}"
        if not isinstance(rec, dict):
            out.skipped.append((where, "not an object"))
            continue
        try:
            st = canonical_signal_type(str(rec.get("algorithm", "")))
            digest = str(rec["hash_digest"]).strip().lower()
            if rec.get("deleted"):
                out.deleted.append((st, digest))
                continue
            tags = [f"ideology:{rec['ideology']}"] if rec.get("ideology") else []
            if rec.get("file_type"):
                tags.append(f"file_type:{rec['file_type']}")
            out.entries.append(entry(
                bank, st, digest, labels=EntryLabels(source="tat", tags=tuple(tags)),
                external_id=str(rec["id"]) if rec.get("id") is not None else None,
                added_at=parse_time(rec.get("created_on"))))
        except (KeyError, ValueError) as exc:
            out.skipped.append((where, str(exc)))
    return out


def write(path: Path, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    results, skipped = [], 0
    for e in entries:
        algorithm = _EXPORT_ALGORITHMS.get(e.signal_type)
        if algorithm is None:
            skipped += 1
            continue
        tags = dict(t.split(":", 1) for t in e.labels.tags if ":" in t)
        created = e.added_at or datetime.now(UTC)
        ext = e.external_id or ""
        results.append({"id": int(ext) if ext.isdigit() else e.id,
                        "hash_digest": e.signal, "algorithm": algorithm,
                        "ideology": tags.get("ideology", ""), "file_type": tags.get("file_type", ""),
                        "deleted": False, "updated_on": created.timestamp(),
                        "created_on": created.isoformat()})
    doc = {"count": len(results), "next": None, "previous": None, "checkpoint": "", "results": results}
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return Exported(len(results), skipped)
