"""python-threatexchange's CSV: ``threatexchange dataset -P --csv`` writes a header and one row per
(signal, collaboration): ``signal_type,signal_str,collab,category,tags``. Categories are pytx's
``SignalOpinionCategory`` names: ``POSITIVE_CLASS`` / ``TRUE_POSITIVE`` -> positive, ``NEGATIVE_CLASS`` /
``FALSE_POSITIVE`` -> negative, ``DISPUTED`` -> disputed, ``INVESTIGATION_SEED`` -> positive with confidence
0.5 (a lead, not a conclusion). Tags are space-separated; the collaboration becomes the entry's source.
A CSV with only ``signal_type,signal_str`` columns reads too."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from bastion.errors import InputError
from bastion.media.banks.model import BankConfig, BankEntry, Opinion
from bastion.media.formats.base import Exported, Imported, entry, labels_from_tags, read_text

FIELDS = ["signal_type", "signal_str", "collab", "category", "tags"]
_CATEGORY = {"POSITIVE_CLASS": (Opinion.POSITIVE, 1.0), "TRUE_POSITIVE": (Opinion.POSITIVE, 1.0),
             "NEGATIVE_CLASS": (Opinion.NEGATIVE, 1.0), "FALSE_POSITIVE": (Opinion.NEGATIVE, 1.0),
             "DISPUTED": (Opinion.DISPUTED, 1.0), "INVESTIGATION_SEED": (Opinion.POSITIVE, 0.5)}
_EXPORT_NAMES = {"pdq": "pdq", "md5": "video_md5", "sha256": "video_sha256", "vpdq": "vpdq", "url": "url",
                 "url_md5": "url_md5", "raw_text": "raw_text"}


def read(path: Path, bank: str) -> Imported:
    rows = csv.DictReader(io.StringIO(read_text(path), newline=""))
    if not rows.fieldnames or not {"signal_type", "signal_str"} <= {f.strip() for f in rows.fieldnames}:
        raise InputError(f"{path}: not a pytx CSV (expected a header with signal_type,signal_str)")
    out = Imported()
    for n, row in enumerate(rows, 2):
        where = f"{path.name}:{n}"
        row = {(k or "").strip(): (v or "") for k, v in row.items() if k is not None}
        category = row.get("category", "").strip().upper()
        opinion, confidence = _CATEGORY.get(category, (Opinion.POSITIVE, 1.0))
        if category and category not in _CATEGORY:
            out.skipped.append((where, f"unknown category {category!r}"))
            continue
        tags = [t for t in row.get("tags", "").split() if t]
        labels = labels_from_tags(tags, source=row.get("collab", "").strip() or "pytx", opinion=opinion)
        if confidence < labels.confidence:
            from dataclasses import replace

            labels = replace(labels, confidence=confidence)
        try:
            out.entries.append(entry(bank, row["signal_type"], row["signal_str"], labels=labels))
        except ValueError as exc:
            out.skipped.append((where, str(exc)))
    return out


def write(path: Path, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    category = {Opinion.POSITIVE: "POSITIVE_CLASS", Opinion.NEGATIVE: "NEGATIVE_CLASS",
                Opinion.DISPUTED: "DISPUTED"}
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS)
        w.writeheader()
        for e in entries:
            opinion = Opinion.NEGATIVE if config.negative else e.labels.opinion
            w.writerow({"signal_type": _EXPORT_NAMES[e.signal_type], "signal_str": e.signal,
                        "collab": e.labels.source or config.name, "category": category[opinion],
                        "tags": " ".join(t for t in e.labels.names() if " " not in t)})
    return Exported(len(entries))
