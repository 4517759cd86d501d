"""Exact-copy hashes: MD5 (what GIFCT, Tech Against Terrorism and ThreatExchange share for videos) and
SHA-256 (what our evidence store keys blobs by). Both read files in chunks, so a large video never sits in
memory, and both refuse files over the byte limit before reading."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bastion.media.decode import MediaError
from bastion.media.hashers.base import Hasher

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class DigestSignature:
    algorithm: str
    hex: str

    @property
    def signal_type(self) -> str:
        return self.algorithm

    def signal_str(self) -> str:
        return self.hex

    def to_json(self) -> dict[str, Any]:
        return {self.algorithm: self.hex}


def file_digests(path: str | Path, max_bytes: int) -> tuple[str, str]:
    """MD5 and SHA-256 of a file in one pass."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise MediaError("too_large", f"{size} bytes > limit {max_bytes}")
        md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                md5.update(chunk)
                sha.update(chunk)
    except FileNotFoundError:
        raise MediaError("not_found", "no such file") from None
    except IsADirectoryError:
        raise MediaError("unsupported", "not a regular file") from None
    except OSError as exc:
        raise MediaError("not_found", f"cannot read file: {exc.strerror}") from None
    return md5.hexdigest(), sha.hexdigest()


class _DigestHasher(Hasher):
    kinds: ClassVar[frozenset[str]] = frozenset({"image", "video"})
    _hex_len: ClassVar[int]

    def _new(self) -> Any:
        return hashlib.new(self.name)

    def hash_bytes(self, data: bytes) -> DigestSignature:
        h = self._new()
        h.update(data)
        return DigestSignature(self.name, h.hexdigest())

    def hash_file(self, path: str | Path) -> DigestSignature:
        md5, sha = file_digests(path, self.limits.max_video_bytes)
        return DigestSignature(self.name, md5 if self.name == "md5" else sha)

    def parse(self, signal: str) -> DigestSignature:
        s = signal.strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{self._hex_len}}}", s):
            raise ValueError(f"an {self.name} digest is {self._hex_len} hex characters")
        return DigestSignature(self.name, s)


class Md5Hasher(_DigestHasher):
    name: ClassVar[str] = "md5"
    _hex_len: ClassVar[int] = 32

    def _new(self) -> Any:
        return hashlib.md5(usedforsecurity=False)


class Sha256Hasher(_DigestHasher):
    name: ClassVar[str] = "sha256"
    _hex_len: ClassVar[int] = 64
