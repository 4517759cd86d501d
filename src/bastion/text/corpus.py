"""Labelled text corpora in the tvec-dev format (one JSON object per line: id, dataset, class, text, meta).

Why a separate loader rather than the ingest ``corpus`` reader: training and evaluation need the label, the
source data set (for licence filtering) and a grouping key (the account, for ``pro_isis``), not platform
records. Only the listed fields are kept; profile fields in ``meta`` are never used as features.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bastion.errors import InputError, require_data

__all__ = ["PERMISSIVE_DATASETS", "POSITIVE", "Example", "is_permissive", "json_records", "load_corpus"]

#: The positive class of the propaganda model.
POSITIVE = "pro_isis"

#: Data sets whose licence allows training a model that ships with the project (data README).
PERMISSIVE_DATASETS: tuple[str, ...] = (
    "fifthtribe", "tweeteval-*", "crisislex*", "pheme*", "quran-en-pickthall", "hadith-muwatta", "arsarcasm",
)


def is_permissive(dataset: str) -> bool:
    return any((p.endswith("*") and dataset.startswith(p[:-1])) or dataset == p for p in PERMISSIVE_DATASETS)


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    dataset: str
    label: str
    text: str
    group: str  # CV grouping key: the account for pro_isis, else the example itself

    @property
    def positive(self) -> bool:
        return self.label == POSITIVE


def _group(obj: dict[str, object], label: str, ex_id: str) -> str:
    meta = obj.get("meta")
    if label == POSITIVE and isinstance(meta, dict) and meta.get("account"):
        return f"acct:{meta['account']}"
    return f"id:{ex_id}"


def json_records(path: Path, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each record of an eval-format JSONL file; a missing file or a line that is no
    JSON object is an :class:`~bastion.errors.InputError` naming the file and line."""
    require_data(path, what)
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{n}: not JSON ({exc})") from exc
            if not isinstance(r, dict):
                raise InputError(f"{path}:{n}: not a JSON object")
            yield n, r


def load_corpus(path: str | Path, datasets: Iterable[str] | None = None) -> list[Example]:
    """Read a tvec-format JSONL file. ``datasets``: keep only these data set names (``*`` suffix allowed)."""
    p = require_data(Path(path), "labelled corpus")
    pats = tuple(datasets) if datasets is not None else None
    out: list[Example] = []
    with p.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
                label = str(obj["class"])
                text = str(obj["text"])
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"{p}:{lineno}: not a tvec record ({exc})") from exc
            dataset = str(obj.get("dataset", ""))
            if pats is not None and not any(
                    dataset == q or (q.endswith("*") and dataset.startswith(q[:-1])) for q in pats):
                continue
            ex_id = str(obj.get("id", f"{p.name}:{lineno}"))
            out.append(Example(ex_id, dataset, label, text, _group(obj, label, ex_id)))
    if not out:
        raise InputError(f"{p}: no records (after filtering)")
    return out
