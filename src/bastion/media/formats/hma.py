"""The Hasher-Matcher-Actioner / python-threatexchange signal file: one ``<signal_type> <signal>`` per
line (pytx's ``LocalFileSignalExchangeAPI``, which HMA uses to load a bank from a file). Blank lines and
``#`` comments are ignored. Signal types use pytx's names: ``pdq``, ``video_md5``, ``vpdq``; SHA-256 has no
pytx signal type and is left out of exports (counted as skipped)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels
from bastion.media.formats.base import Exported, Imported, entry, read_text

_EXPORT_NAMES = {"pdq": "pdq", "md5": "video_md5", "vpdq": "vpdq"}


def read(path: Path, bank: str) -> Imported:
    out = Imported()
    for n, raw in enumerate(read_text(path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        signal_type, _, signal = line.partition(" ")
        try:
            out.entries.append(entry(bank, signal_type, signal.strip(), labels=EntryLabels(source="hma")))
        except ValueError as exc:
            out.skipped.append((f"{path.name}:{n}", str(exc)))
    return out


def write(path: Path, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    written = skipped = 0
    with path.open("w", encoding="utf-8") as fh:
        for e in entries:
            name = _EXPORT_NAMES.get(e.signal_type)
            if name is None:
                skipped += 1
                continue
            fh.write(f"{name} {e.signal}\n")
            written += 1
    return Exported(written, skipped)
