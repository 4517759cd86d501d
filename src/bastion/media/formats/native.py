"""Bastion's own bank format: JSON Lines, lossless.

Line 1 is a header, every further line one entry::

    {"format": "bastion.bank/1", "bank": {"name": "...", "negative": false, "pdq_threshold": 31, ...}}
    {"signal_type": "pdq", "signal": "<64 hex>", "labels": {"entity": "...", "behaviour": "...",
     "source": "...", "confidence": 1.0, "opinion": "positive", "tags": []}, "status": "active",
     "external_id": "...", "added_at": "2024-01-01T00:00:00+00:00", "note": ""}

``signal`` is the hash in hex (PDQ 64, MD5 32, SHA-256 64 characters) or, for ``vpdq``, the compact
frame list (a JSON string holding a list of ``"hex,quality,seconds"``). Entry ids are not exported:
they belong to the database that assigned them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from bastion.errors import InputError
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, EntryStatus
from bastion.media.formats.base import Exported, Imported, entry, parse_time, read_text

FORMAT = "bastion.bank/1"


def read(path: Path, bank: str) -> Imported:
    """Read a bank file; an empty ``bank`` takes the name from the file's header."""
    out = Imported()
    lines = read_text(path).splitlines()
    start = 0
    if lines and lines[0].strip():
        try:
            head = json.loads(lines[0])
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:1: not JSON: {exc.msg}") from None
        if isinstance(head, dict) and head.get("format") == FORMAT:
            start = 1
            cfg = dict(head.get("bank") or {})
            bank = bank or str(cfg.get("name", ""))
            cfg["name"] = bank
            try:
                out.config = BankConfig.from_json(cfg)
            except (TypeError, ValueError) as exc:
                raise InputError(f"{path}:1: invalid bank header: {exc}") from None
    if not bank:
        raise InputError(f"{path}: no bank name given and no {FORMAT} header to take it from")
    for n, line in enumerate(lines[start:], start + 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            out.entries.append(entry(
                bank, rec["signal_type"], rec["signal"],
                labels=EntryLabels.from_json(rec.get("labels") or {}),
                status=EntryStatus(rec.get("status", "active")),
                external_id=rec.get("external_id"), added_at=parse_time(rec.get("added_at")),
                note=str(rec.get("note", ""))))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            out.skipped.append((f"{path.name}:{n}", f"{type(exc).__name__}: {exc}"))
    return out


def write(path: Path, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"format": FORMAT, "bank": config.to_json()}) + "\n")
        for e in entries:
            rec = e.to_json()
            rec.pop("id", None)
            rec.pop("bank", None)
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return Exported(len(entries))
