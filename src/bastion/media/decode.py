"""Safe decoding of untrusted images and videos.

Media reaching a trust-and-safety system is hostile by assumption: decompression bombs (a 50 kB PNG that
inflates to 100 gigapixels), truncated or corrupt files, formats nobody asked us to read, videos that claim
to last a week. Every entry point here checks cheap facts first (file size, the header's declared
dimensions and duration) before any pixel is decoded, bounds the work it will do (pixels, frames, seconds
of wall time), and turns every failure into a :class:`MediaError` with a short machine-readable ``code``.
Callers treat that error as data about one item (a per-file error line, an unavailable signal), never as a
crash of the batch.

Images are decoded with Pillow straight to 8-bit grey ("L"): for JPEG the decoder is asked for the luma
plane only (``draft``), which skips chroma upsampling and colour conversion and is where most of the
hashing speed-up over the reference comes from (see ``docs/media.md`` for the measured agreement).
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.errors import RecordError

log = logging.getLogger(__name__)


class MediaError(RecordError):
    """One media item could not be decoded or hashed. ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        super().__init__(f"{code}: {reason}")


#: Machine-readable reasons a media item is refused.
ERROR_CODES = ("not_found", "too_large", "too_many_pixels", "too_long", "too_many_frames", "timeout",
               "corrupt", "truncated", "unsupported", "empty",
               # media known only by URL (see fetch.py)
               "not_fetched", "no_content", "blocked_host", "private_address", "bad_url", "unreachable",
               "http_error", "unsupported_type")


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds on the work spent on one item. The defaults suit user uploads to a social platform."""

    max_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 64_000_000
    max_video_bytes: int = 1024 * 1024 * 1024
    max_duration_s: float = 3600.0
    max_frames: int = 20_000
    max_decode_s: float = 300.0
    #: JPEGs whose shorter side is at least twice this are decoded at a reduced scale (libjpeg's DCT
    #: scaling) that keeps the shorter side >= this; ``0`` always decodes at full size.
    jpeg_draft_min_side: int = 1024

    @classmethod
    def with_overrides(cls, *, max_bytes: int | None = None, max_pixels: int | None = None,
                       max_duration_s: float | None = None, max_frames: int | None = None) -> DecodeLimits:
        """The defaults with the given (non-None) limits replaced: what CLI flags and options pass."""
        d = cls()
        return cls(max_bytes=d.max_bytes if max_bytes is None else max_bytes,
                   max_pixels=d.max_pixels if max_pixels is None else max_pixels,
                   max_video_bytes=d.max_video_bytes,
                   max_duration_s=d.max_duration_s if max_duration_s is None else max_duration_s,
                   max_frames=d.max_frames if max_frames is None else max_frames,
                   max_decode_s=d.max_decode_s, jpeg_draft_min_side=d.jpeg_draft_min_side)


DEFAULT_LIMITS = DecodeLimits()

# Container signatures that mean "video". Anything else goes to the image decoder.
_VIDEO_MAGIC: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),                 # MP4, MOV, 3GP, M4V
    (0, b"\x1a\x45\xdf\xa3"),     # Matroska / WebM
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),     # MPEG program stream
    (0, b"\x30\x26\xb2\x75"),     # ASF / WMV
    (4, b"moov"),
    (4, b"mdat"),
)


def sniff_kind(head: bytes) -> str:
    """``"video"`` when the first bytes are a known video container, else ``"image"``."""
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:  # MPEG transport stream
        return "video"
    for offset, magic in _VIDEO_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return "video"
    return "image"


def read_bytes(path: str | Path, max_bytes: int) -> bytes:
    """Read a whole file, refusing one larger than ``max_bytes`` before reading it."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise MediaError("unsupported", "not a regular file")
    except FileNotFoundError:
        raise MediaError("not_found", "no such file") from None
    except OSError as exc:
        raise MediaError("not_found", f"cannot stat file: {exc.strerror}") from None
    if size > max_bytes:
        raise MediaError("too_large", f"{size} bytes > limit {max_bytes}")
    if size == 0:
        raise MediaError("empty", "file is empty")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise MediaError("not_found", f"cannot read file: {exc.strerror}") from None


def decode_grey(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> NDArray[np.uint8]:
    """Decode an image to a 2-D uint8 luma array, within ``limits``. The first frame of animations."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise MediaError("empty", "no bytes")
    if len(data) > limits.max_bytes:
        raise MediaError("too_large", f"{len(data)} bytes > limit {limits.max_bytes}")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns, then raises at twice its global limit; ours is stricter
            # and per call, so its warning is only noise here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w <= 0 or h <= 0:
                raise MediaError("corrupt", f"invalid dimensions {w}x{h}")
            if w * h > limits.max_pixels:
                raise MediaError("too_many_pixels", f"{w}x{h} > limit {limits.max_pixels} pixels")
            if img.format == "JPEG":
                img.draft("L", _draft_size(w, h, limits.jpeg_draft_min_side))
            img.load()
            return _to_grey(img)
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaError("too_many_pixels", str(exc)) from None
    except UnidentifiedImageError:
        raise MediaError("unsupported", "not a recognised image or video format") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            ZeroDivisionError, struct.error) as exc:
        msg = str(exc)
        code = "truncated" if "truncated" in msg or isinstance(exc, EOFError) else "corrupt"
        raise MediaError(code, _short(msg) or type(exc).__name__) from None
    except MemoryError:
        raise MediaError("too_many_pixels", "out of memory while decoding") from None
    except Exception as exc:  # hostile input must never escape as a crash; log it to fix the gap
        log.warning("unexpected %s while decoding an image", type(exc).__name__, exc_info=True)
        raise MediaError("corrupt", f"decoder failed: {type(exc).__name__}") from None


def _draft_size(w: int, h: int, min_side: int) -> tuple[int, int]:
    if min_side <= 0:
        return (w, h)
    scale = 1
    while scale < 8 and min(w, h) // (scale * 2) >= min_side:
        scale *= 2
    return (-(-w // scale), -(-h // scale))


def _to_grey(img: Any) -> NDArray[np.uint8]:
    """Luma as uint8. Pillow's "L" conversion uses the same ITU-R 601 weights as PDQ's reference."""
    mode = img.mode
    if mode == "L":
        arr = np.asarray(img)
    elif mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # High-bit-depth grey: rescale the actual range to 0..255 (PDQ is insensitive to affine changes
        # of brightness, so only the rounding differs from the reference's clipping behaviour).
        a = np.asarray(img.convert("F"), dtype=np.float32)
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        span = hi - lo if hi > lo else 1.0
        arr = ((a - lo) * (255.0 / span)).astype(np.uint8)
    elif mode in ("LA", "La", "1", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        if mode in ("P", "PA"):
            img = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
        arr = np.asarray(img.convert("L"))
    else:
        raise MediaError("unsupported", f"image mode {mode!r}")
    if arr.ndim != 2 or arr.size == 0:
        raise MediaError("corrupt", "decoded to an empty image")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _short(msg: str, n: int = 160) -> str:
    return msg if len(msg) <= n else msg[: n - 1] + "…"
