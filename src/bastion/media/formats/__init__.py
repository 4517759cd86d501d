"""Import and export of bank files, one module per format.

* ``bastion`` - our own JSON Lines format (documented in ``docs/media.md``): lossless.
* ``te`` - ThreatExchange ``/threat_updates`` records (``{"data": [...]}``, a JSON list, or JSON Lines).
* ``hma`` - the Hasher-Matcher-Actioner / python-threatexchange signal file: ``<signal_type> <signal>``
  per line.
* ``tat`` - Tech Against Terrorism's hash list JSON (a ``/hash-list`` page or a list of its entries).

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
}


def _module(fmt: str) -> object:
    name = FORMATS.get(fmt)
    if name is None:
        raise ConfigError(f"unknown bank format {fmt!r}; known: {', '.join(FORMATS)}")
    return importlib.import_module(name)


def read_bank(path: str | Path, fmt: str, bank: str) -> Imported:
    """Read a bank file; entries are attributed to ``bank`` (the ``bastion`` format may carry its own
    bank configuration, returned as ``Imported.config``)."""
    return _module(fmt).read(Path(path), bank)  # type: ignore[attr-defined, no-any-return]


def write_bank(path: str | Path, fmt: str, config: BankConfig, entries: Sequence[BankEntry]) -> Exported:
    return _module(fmt).write(Path(path), config, entries)  # type: ignore[attr-defined, no-any-return]


__all__ = ["FORMATS", "Exported", "Imported", "read_bank", "write_bank"]
