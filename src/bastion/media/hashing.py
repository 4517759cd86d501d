"""Hash one media file with everything that applies to it: MD5 and SHA-256 always, then PDQ for an image
or vPDQ for a video (told apart by the container's magic bytes). This is the file -> hashes path used by
``bastion hash``, the media detector and the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.media.decode import DEFAULT_LIMITS, DecodeLimits, MediaError, decode_grey, read_bytes, sniff_kind
from bastion.media.hashers.md5 import file_digests
from bastion.media.hashers.pdq import PdqSignature, pdq_from_luma
from bastion.media.hashers.vpdq import VpdqSignature, iter_frames


@dataclass(frozen=True, slots=True)
class MediaHashes:
    kind: str
    md5: str
    sha256: str
    pdq: PdqSignature | None = None
    vpdq: VpdqSignature | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.pdq is not None:
            out.update(self.pdq.to_json())
        if self.vpdq is not None:
            out.update(self.vpdq.to_json())
        out["md5"] = self.md5
        out["sha256"] = self.sha256
        return out

    def signals(self) -> dict[str, str]:
        """Signal type -> signal string, the shape of HMA's ``/h/hash`` answer."""
        out = {"md5": self.md5, "sha256": self.sha256}
        if self.pdq is not None:
            out["pdq"] = self.pdq.hash
        if self.vpdq is not None:
            out["vpdq"] = self.vpdq.signal_str()
        return out


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(512)
    except FileNotFoundError:
        raise MediaError("not_found", "no such file") from None
    except IsADirectoryError:
        raise MediaError("unsupported", "not a regular file") from None
    except OSError as exc:
        raise MediaError("not_found", f"cannot read file: {exc.strerror}") from None


def hash_file(path: str | Path, limits: DecodeLimits = DEFAULT_LIMITS, *, seconds_per_hash: float = 0.0,
              kind: str | None = None) -> MediaHashes:
    """Hash a file; raises :class:`MediaError` for an item that cannot be decoded within ``limits``."""
    p = Path(path)
    kind = kind or sniff_kind(_head(p))
    if kind == "video":
        md5, sha = file_digests(p, limits.max_video_bytes)
        frames = tuple(iter_frames(p, limits, seconds_per_hash))
        return MediaHashes("video", md5, sha, vpdq=VpdqSignature(frames))
    return hash_bytes(read_bytes(p, limits.max_bytes), limits, kind="image")


def hash_bytes(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS, *, seconds_per_hash: float = 0.0,
               kind: str | None = None) -> MediaHashes:
    """Hash an in-memory file (an upload)."""
    import hashlib
    import io

    if not data:
        raise MediaError("empty", "no bytes")
    kind = kind or sniff_kind(data[:512])
    cap = limits.max_video_bytes if kind == "video" else limits.max_bytes
    if len(data) > cap:
        raise MediaError("too_large", f"{len(data)} bytes > limit {cap}")
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha = hashlib.sha256(data).hexdigest()
    if kind == "video":
        frames = tuple(iter_frames(io.BytesIO(data), limits, seconds_per_hash))
        return MediaHashes("video", md5, sha, vpdq=VpdqSignature(frames))
    return MediaHashes("image", md5, sha, pdq=pdq_from_luma(decode_grey(data, limits)))
