"""A bare list of hashes of one signal type, one per line, as pytx's file collaborations and
``threatexchange dataset -S`` (one signal type) write them and as hash-sharing partners mail them. The
signal type is given (``bastion bank import --format list --type pdq``). A line may carry more fields after
the hash (``hash,quality,path``, tab- or space-separated), which are ignored; blank lines and ``#`` comments
are skipped, and a first line that is not a hash (a header) is skipped as such."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from bastion.errors import InputError
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, canonical_signal_type
from bastion.media.formats.base import Exported, Imported, entry, read_text

_SPLIT = re.compile(r"[,\t ;]")


def read(path: Path, bank: str, signal_type: str | None = None) -> Imported:
    if not signal_type:
        raise InputError("a bare hash list needs --type (pdq, md5, sha256, url, url_md5, raw_text)")
    try:
        st = canonical_signal_type(signal_type)
    except ValueError as exc:
        raise InputError(f"--type: {exc}") from None
    out = Imported()
    first = True
    for n, raw in enumerate(read_text(path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # text and URLs may contain the separators: they take the whole line
        value = line if st in ("raw_text", "url") else _SPLIT.split(line, 1)[0]
        try:
            out.entries.append(entry(bank, st, value, labels=EntryLabels(source="list")))
        except ValueError as exc:
            if not first:
                out.skipped.append((f"{path.name}:{n}", str(exc)))
        first = False
    return out


def write(path: Path, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    """One signal per line, of the bank's most common signal type (others are counted as skipped)."""
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.signal_type] = counts.get(e.signal_type, 0) + 1
    main = max(counts, key=lambda k: counts[k]) if counts else None
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        for e in entries:
            if e.signal_type == main and "\n" not in e.signal:
                fh.write(e.signal + "\n")
                written += 1
    return Exported(written, len(entries) - written)
