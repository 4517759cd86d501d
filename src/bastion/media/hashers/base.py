"""The hasher interface: one small base class, one module per algorithm.

A hasher turns a media file into a *signature*: a value with a ``signal_type`` (``pdq``, ``vpdq``, ``md5``,
``sha256``), a canonical string form that banks store and exchange (:meth:`Signature.signal_str`), and a
JSON form. Hashers are configured instances with an explicit, stable ``name`` (the signal type they
produce), so adding an algorithm is one module plus a line in :data:`bastion.media.hashers.HASHERS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bastion.media.decode import DEFAULT_LIMITS, DecodeLimits, read_bytes


class Signature(Protocol):
    """What a hasher returns."""

    @property
    def signal_type(self) -> str: ...

    def signal_str(self) -> str:
        """The canonical string form stored in banks (a hex digest, or vPDQ's frame list)."""
        ...

    def to_json(self) -> dict[str, Any]: ...


class Hasher(ABC):
    """Base of every hasher. ``kinds`` says which media kinds (``image``, ``video``) it applies to."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def __init__(self, limits: DecodeLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    @abstractmethod
    def hash_bytes(self, data: bytes) -> Signature:
        """Hash an in-memory file. Raises :class:`~bastion.media.decode.MediaError` for a bad item."""

    def hash_file(self, path: str | Path) -> Signature:
        """Hash a file on disk (default: read it within the byte limit, then :meth:`hash_bytes`)."""
        return self.hash_bytes(read_bytes(path, self.limits.max_bytes))

    @abstractmethod
    def parse(self, signal: str) -> Signature:
        """Validate and parse a signal string (e.g. from an imported bank). Raises ValueError."""

    def get_params(self) -> Mapping[str, Any]:
        return {}
