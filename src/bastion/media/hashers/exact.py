"""Exact-match signals that are not media hashes, as hash exchanges share them (pytx's ``url``, ``url_md5``
and ``raw_text`` signal types): a bank can hold a URL, the MD5 of a URL, or a piece of text, matched
exactly after normalisation. They hash no media file (``kinds`` is empty); ``hash_bytes`` reads the bytes
as the URL or text itself.

Normalisation, so that trivially different copies match:

* ``url``: surrounding whitespace removed, scheme and host lower-cased, a trailing ``/`` after the host
  dropped; path and query kept as they are (they are case-sensitive on most servers).
* ``url_md5``: 32 hex characters, lower-cased; the MD5 of the normalised URL when hashed from a URL.
* ``raw_text``: Unicode NFKC, case-folded, runs of whitespace collapsed to one space. pytx also matches
  raw text by edit distance; Bastion matches exact normalised text only (the text classifiers judge the
  rest).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from bastion.media.decode import MediaError
from bastion.media.hashers.base import Hasher

MAX_URL = 4096
MAX_TEXT = 10_000


@dataclass(frozen=True, slots=True)
class ExactSignature:
    kind: str
    value: str

    @property
    def signal_type(self) -> str:
        return self.kind

    def signal_str(self) -> str:
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {self.kind: self.value}


def normalise_url(url: str) -> str:
    s = url.strip()
    if not s or len(s) > MAX_URL or any(c.isspace() for c in s):
        raise ValueError(f"a url is 1 to {MAX_URL} characters without spaces")
    parts = urlsplit(s)
    if not parts.scheme or not parts.netloc:
        raise ValueError("a url needs a scheme and a host (e.g. https://example.org/path)")
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, parts.fragment))


def normalise_text(text: str) -> str:
    s = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    if not s or len(s) > MAX_TEXT:
        raise ValueError(f"raw text is 1 to {MAX_TEXT} characters")
    return s


class _ExactHasher(Hasher):
    kinds: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def parse(self, signal: str) -> ExactSignature: ...

    def hash_bytes(self, data: bytes) -> ExactSignature:
        try:
            return self.parse(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MediaError("unsupported", f"not a {self.name} signal: {exc}") from None


class UrlHasher(_ExactHasher):
    name: ClassVar[str] = "url"

    def parse(self, signal: str) -> ExactSignature:
        return ExactSignature("url", normalise_url(signal))


class UrlMd5Hasher(_ExactHasher):
    name: ClassVar[str] = "url_md5"

    def hash_bytes(self, data: bytes) -> ExactSignature:
        """The MD5 of a URL (normalised first)."""
        try:
            url = normalise_url(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MediaError("unsupported", f"not a url: {exc}") from None
        return ExactSignature("url_md5", hashlib.md5(url.encode(), usedforsecurity=False).hexdigest())

    def parse(self, signal: str) -> ExactSignature:
        s = signal.strip().lower()
        if not re.fullmatch("[0-9a-f]{32}", s):
            raise ValueError("a url_md5 digest is 32 hex characters")
        return ExactSignature("url_md5", s)


class RawTextHasher(_ExactHasher):
    name: ClassVar[str] = "raw_text"

    def parse(self, signal: str) -> ExactSignature:
        return ExactSignature("raw_text", normalise_text(signal))
