"""The Hasher-Matcher-Actioner / python-threatexchange signal file: one ``<signal_type> <signal>`` per
line (pytx's ``LocalFileSignalExchangeAPI``, which HMA uses to load a bank from a file). Blank lines and
``#`` comments are ignored. Signal types use pytx's names: ``pdq``, ``video_md5``, ``video_sha256``, ``vpdq``,
``url``, ``url_md5``, ``raw_text`` (everything after the type is the signal, so text and URLs keep their
spaces). With ``--type``, a line holding only a signal (``dataset -S`` with one signal type) is of that type."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, canonical_signal_type
from bastion.media.formats.base import Exported, Imported, entry, read_text

_EXPORT_NAMES = {"pdq": "pdq", "md5": "video_md5", "sha256": "video_sha256", "vpdq": "vpdq", "url": "url",
                 "url_md5": "url_md5", "raw_text": "raw_text"}


def read(path: Path, bank: str, signal_type: str | None = None) -> Imported:
    out = Imported()
    for n, raw in enumerate(read_text(path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        named, _, signal = line.partition(" ")
        if signal_type and (not signal or not _is_type(named)):
            named, signal = signal_type, line
        try:
            out.entries.append(entry(bank, named, signal.strip(), labels=EntryLabels(source="hma")))
        except ValueError as exc:
            out.skipped.append((f"{path.name}:{n}", str(exc)))
    return out


def _is_type(name: str) -> bool:
    try:
        canonical_signal_type(name)
    except ValueError:
        return False
    return True


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
