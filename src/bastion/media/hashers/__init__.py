"""Media hashers, one module per algorithm, registered by stable name (the signal type they produce).

``get_hasher("pdq")`` imports the module on first use, so a process that never hashes video never imports
PyAV. Third-party hashers register with :func:`register`.
"""

from __future__ import annotations

import importlib
from typing import Any

from bastion.errors import ConfigError
from bastion.media.hashers.base import Hasher, Signature

HASHERS: dict[str, str] = {
    "pdq": "bastion.media.hashers.pdq:PdqHasher",
    "vpdq": "bastion.media.hashers.vpdq:VpdqHasher",
    "md5": "bastion.media.hashers.md5:Md5Hasher",
    "sha256": "bastion.media.hashers.md5:Sha256Hasher",
    "url": "bastion.media.hashers.exact:UrlHasher",
    "url_md5": "bastion.media.hashers.exact:UrlMd5Hasher",
    "raw_text": "bastion.media.hashers.exact:RawTextHasher",
}

_CLASSES: dict[str, type[Hasher]] = {}


def register(cls: type[Hasher]) -> None:
    _CLASSES[cls.name] = cls


def hasher_class(name: str) -> type[Hasher]:
    if name in _CLASSES:
        return _CLASSES[name]
    target = HASHERS.get(name)
    if target is None:
        raise ConfigError(f"unknown hash type {name!r}; known: {', '.join(sorted({*HASHERS, *_CLASSES}))}")
    module, attr = target.split(":")
    cls: type[Hasher] = getattr(importlib.import_module(module), attr)
    _CLASSES[name] = cls
    return cls


def get_hasher(name: str, **options: Any) -> Hasher:
    return hasher_class(name)(**options)


def parse_signal(signal_type: str, signal: str) -> Signature:
    """Validate a signal string of a type (raises ValueError when malformed)."""
    return get_hasher(signal_type).parse(signal)


__all__ = ["HASHERS", "Hasher", "Signature", "get_hasher", "hasher_class", "parse_signal", "register"]
