"""Review thumbnails: small, grayscale and blurred by default.

Reviewers of terrorist content are exposed to violence all day; the review UI shows media as a blurred,
grayscale thumbnail that the reviewer can choose to reveal step by step (the "wellness" defaults of
trust-and-safety tooling). Generating the thumbnail goes through the same safe decoding as hashing.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bastion.media.decode import DEFAULT_LIMITS, DecodeLimits, MediaError, decode_grey, read_bytes, sniff_kind


def _video_luma(source: Path | io.BytesIO, limits: DecodeLimits, at: float) -> NDArray[np.uint8]:
    import av

    deadline = time.monotonic() + min(limits.max_decode_s, 30.0)
    try:
        with av.open(source if isinstance(source, io.BytesIO) else str(source), mode="r") as container:
            if not container.streams.video:
                raise MediaError("unsupported", "no video stream")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx is None:
                raise MediaError("unsupported", "no decoder for the video stream")
            if (ctx.width or 0) * (ctx.height or 0) > limits.max_pixels:
                raise MediaError("too_many_pixels", "video frames larger than the pixel limit")
            last = None
            for packet in container.demux(stream):
                if time.monotonic() > deadline:
                    raise MediaError("timeout", "no frame decoded in time")
                for frame in packet.decode():
                    last = frame.to_ndarray(format="gray")
                    if frame.time is None or frame.time >= at:
                        return np.ascontiguousarray(last, dtype=np.uint8)
            if last is None:
                raise MediaError("corrupt", "no decodable video frames")
            return np.ascontiguousarray(last, dtype=np.uint8)
    except MediaError:
        raise
    except Exception as exc:  # any decoder failure on hostile input is a per-item error
        raise MediaError("corrupt", f"video decoding failed: {type(exc).__name__}") from None


def review_thumbnail(source: str | Path | bytes, *, size: int = 256, blur: float | None = None,
                     at: float = 0.0, limits: DecodeLimits = DEFAULT_LIMITS) -> bytes:
    """A JPEG thumbnail (longest side ``size``), grayscale, Gaussian-blurred with radius ``blur`` (default
    ``size / 24``; 0 for no blur). For videos, the frame at ``at`` seconds. Raises MediaError."""
    from PIL import Image, ImageFilter

    if isinstance(source, bytes):
        kind = sniff_kind(source[:512])
        luma = _video_luma(io.BytesIO(source), limits, at) if kind == "video" else decode_grey(source, limits)
    else:
        path = Path(source)
        try:
            with path.open("rb") as fh:
                kind = sniff_kind(fh.read(512))
        except OSError:
            raise MediaError("not_found", "cannot read file") from None
        luma = (_video_luma(path, limits, at) if kind == "video"
                else decode_grey(read_bytes(path, limits.max_bytes), limits))
    img = Image.fromarray(luma)
    img.thumbnail((size, size), Image.Resampling.BILINEAR)
    radius = size / 24 if blur is None else blur
    if radius > 0:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    return buf.getvalue()
