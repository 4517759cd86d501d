"""Ingest: stream records from files in any supported format, quarantining bad ones.

Use :func:`read` with a format name or ``"auto"``. Supported formats: ``native`` (Bastion JSONL),
``twitter_v1``, ``twitter_v2``, ``mastodon``, ``fifthtribe_csv`` and ``corpus``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bastion.errors import InputError
from bastion.ingest.base import Item, Quarantined, Reader
from bastion.ingest.native import NativeReader
from bastion.ingest.social import MastodonReader, TwitterV1Reader, TwitterV2Reader
from bastion.ingest.tabular import CorpusReader, FifthTribeCsvReader

#: Sniffing order matters: the most specific formats first.
READERS: dict[str, Reader] = {r.name: r for r in (
    NativeReader(), CorpusReader(), TwitterV2Reader(), TwitterV1Reader(), MastodonReader(),
    FifthTribeCsvReader(),
)}

__all__ = ["READERS", "Item", "Quarantined", "detect_format", "read"]


def detect_format(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    for name, reader in READERS.items():
        if reader.sniff(path, head):
            return name
    raise InputError(f"cannot tell the format of {path}; pass --format ({', '.join(READERS)})")


def read(path: str | Path, fmt: str = "auto") -> Iterator[Item]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such input file: {p}")
    name = detect_format(p) if fmt == "auto" else fmt
    if name not in READERS:
        raise InputError(f"unknown format {name!r}; known: auto, {', '.join(READERS)}")
    return READERS[name].read(p)
