"""Import and export of bank files, one module per format.

* ``bastion`` - our own JSON Lines format (documented in ``docs/media.md``): lossless.
* ``te`` - ThreatExchange ``/threat_updates`` records (``{"data": [...]}``, a JSON list, or JSON Lines).
* ``hma`` - the Hasher-Matcher-Actioner / python-threatexchange signal file: ``<signal_type> <signal>``
  per line.
* ``tat`` - Tech Against Terrorism's hash list JSON (a ``/hash-list`` page or a list of its entries).
* ``list`` - a bare list of hashes of one signal type (``--type``), one per line (pytx file collaborations).
* ``csv`` - python-threatexchange's ``dataset --csv`` (``signal_type,signal_str,collab,category,tags``).
* ``vpdq`` - vPDQ hash files (``frame,quality,pdq_hex,seconds`` per line; a file, or a directory of them).

Every reader returns a :class:`~bastion.media.formats.base.Imported`: the entries it could read and, per
skipped record, why. A malformed record never aborts an import; an unreadable file does (InputError).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from bastion.errors import ConfigError
from bastion.media.banks.model import BankConfig, BankEntry
from bastion.media.formats.base import Exported, Imported

FORMATS: dict[str, str] = {
    "bastion": "bastion.media.formats.native",
    "te": "bastion.media.formats.threatexchange",
    "hma": "bastion.media.formats.hma",
    "tat": "bastion.media.formats.tat",
    "list": "bastion.media.formats.hashlist",
    "csv": "bastion.media.formats.pytx_csv",
    "vpdq": "bastion.media.formats.vpdq_file",
}
#: Formats that need the signal type given (their lines do not name it).
NEEDS_TYPE = frozenset({"list"})


def _module(fmt: str) -> object:
    name = FORMATS.get(fmt)
    if name is None:
        raise ConfigError(f"unknown bank format {fmt!r}; known: {', '.join(FORMATS)}")
    return importlib.import_module(name)


def read_bank(path: str | Path, fmt: str, bank: str, signal_type: str | None = None) -> Imported:
    """Read a bank file; entries are attributed to ``bank`` (the ``bastion`` format may carry its own
    bank configuration, returned as ``Imported.config``). ``signal_type`` is the type of every line of a
    bare list (``list``); ``hma`` files use it for lines that name no type."""
    mod = _module(fmt)
    if fmt in NEEDS_TYPE or (fmt == "hma" and signal_type):
        return mod.read(Path(path), bank, signal_type)  # type: ignore[attr-defined, no-any-return]
    return mod.read(Path(path), bank)  # type: ignore[attr-defined, no-any-return]


def write_bank(path: str | Path, fmt: str, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    return _module(fmt).write(Path(path), config, entries)  # type: ignore[attr-defined, no-any-return]


__all__ = ["FORMATS", "NEEDS_TYPE", "Exported", "Imported", "read_bank", "write_bank"]
