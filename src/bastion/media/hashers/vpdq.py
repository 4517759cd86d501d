"""vPDQ for videos: PDQ of decoded frames, matched with the 80 %-of-frames rule.

Frames are decoded with PyAV (FFmpeg) and hashed with our PDQ. For planar YUV the luma plane is used as-is
(no colour conversion at all), rescaled from limited ("TV") range to 0..255 on the 64x64 grid, which is the
same luma an RGB conversion would give; other pixel formats go through FFmpeg's grey conversion. Per-frame
hashes agree with Meta's ``vpdq`` regression outputs (tests/media/test_vpdq.py).

Like the reference, every ``k``-th frame is hashed, ``k = round(fps * seconds_per_hash)`` (``0`` hashes
every frame). Matching follows python-threatexchange's vPDQ: frames under the quality floor are dropped,
identical frame hashes deduplicated, and a query video matches a banked one when at least
``query_ratio`` (default 80 %) of its frames are within the distance of some banked frame (and at least
``target_ratio`` of the banked frames are matched, default 0).

Safety: the file size, declared dimensions and duration are checked before decoding; then every demuxed
packet is checked against the wall-clock budget, every frame's timestamp against the duration cap and the
number of hashed frames against the frame cap. Any breach is a :class:`MediaError`.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bastion.media.bits import hamming, is_hex256, to_words
from bastion.media.decode import DEFAULT_LIMITS, DecodeLimits, MediaError
from bastion.media.hashers.base import Hasher
from bastion.media.hashers.pdq import MATCH_THRESHOLD, MIN_QUALITY, PdqSignature, pdq_from_luma

log = logging.getLogger(__name__)

QUERY_MATCH_RATIO = 0.8
TARGET_MATCH_RATIO = 0.0

_PLANAR_YUV = frozenset({"yuv420p", "yuv422p", "yuv444p", "yuv410p", "yuv411p", "yuv440p", "nv12",
                         "nv21", "yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "gray", "yuva420p"})
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    frame: int
    pdq: str
    quality: int
    ts: float

    def to_json(self) -> dict[str, Any]:
        return {"frame": self.frame, "pdq": self.pdq, "quality": self.quality, "ts": round(self.ts, 3)}


@dataclass(frozen=True, slots=True)
class VpdqSignature:
    frames: tuple[VpdqFrame, ...]

    @property
    def signal_type(self) -> str:
        return "vpdq"

    def signal_str(self) -> str:
        """python-threatexchange's compact form: a JSON list of ``"hex,quality,seconds"`` strings."""
        return json.dumps([f"{f.pdq},{f.quality},{f.ts:.3f}" for f in self.frames], separators=(",", ":"))

    def to_json(self) -> dict[str, Any]:
        return {"vpdq": [f.to_json() for f in self.frames]}

    def usable(self, min_quality: int = MIN_QUALITY) -> list[str]:
        """Distinct frame hashes of at least ``min_quality``, in first-seen order (the matching set)."""
        seen: dict[str, None] = {}
        for f in self.frames:
            if f.quality >= min_quality:
                seen.setdefault(f.pdq, None)
        return list(seen)


def parse_vpdq(signal: str) -> VpdqSignature:
    """Parse the compact JSON form (also accepts ``[{"pdq", "quality", "ts"}...]`` objects)."""
    try:
        items = json.loads(signal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"vPDQ signal is not JSON: {exc.msg}") from None
    if not isinstance(items, list):
        raise ValueError("vPDQ signal must be a JSON list")
    frames = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            parts = item.split(",")
            if len(parts) != 3:
                raise ValueError(f"vPDQ frame {i}: expected 'hex,quality,seconds'")
            h, q, ts = parts[0].lower(), int(parts[1]), float(parts[2])
            frame = i
        elif isinstance(item, dict):
            h, q, ts = str(item["pdq"]).lower(), int(item["quality"]), float(item.get("ts", 0.0))
            frame = int(item.get("frame", i))
        else:
            raise ValueError(f"vPDQ frame {i}: not a string or object")
        if not is_hex256(h) or not 0 <= q <= 100 or ts < 0:
            raise ValueError(f"vPDQ frame {i}: invalid hash, quality or timestamp")
        frames.append(VpdqFrame(frame, h, q, ts))
    return VpdqSignature(tuple(frames))


def _luma_signature(frame: Any) -> PdqSignature:
    fmt = frame.format.name
    if fmt in _PLANAR_YUV:
        plane = frame.planes[0]
        y = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
        full = fmt.startswith("yuvj") or fmt == "gray" or frame.color_range == _FULL_RANGE
        return pdq_from_luma(y) if full else pdq_from_luma(y, offset=16.0, scale=255.0 / 219.0)
    return pdq_from_luma(frame.to_ndarray(format="gray"))


def iter_frames(source: str | Path | io.BytesIO, limits: DecodeLimits = DEFAULT_LIMITS,
                seconds_per_hash: float = 0.0) -> Iterator[VpdqFrame]:
    """Decode a video and yield the hash of every ``k``-th frame, within ``limits``."""
    import av
    import av.error

    deadline = time.monotonic() + limits.max_decode_s
    try:
        container = av.open(source if isinstance(source, io.BytesIO) else str(source), mode="r",
                            options={"probesize": "5000000", "analyzeduration": "5000000"})
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise MediaError("unsupported" if "Invalid data" in str(exc) else "corrupt",
                         f"cannot open video: {type(exc).__name__}") from None
    with container:
        if not container.streams.video:
            raise MediaError("unsupported", "no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx is None:
            raise MediaError("unsupported", "no decoder for the video stream")
        width, height = ctx.width or 0, ctx.height or 0
        if width * height > limits.max_pixels:
            raise MediaError("too_many_pixels", f"{width}x{height} > limit {limits.max_pixels} pixels")
        declared = container.duration / 1_000_000 if container.duration else None
        if declared is not None and declared > limits.max_duration_s:
            raise MediaError("too_long", f"{declared:.0f} s > limit {limits.max_duration_s:.0f} s")
        rate = float(stream.average_rate) if stream.average_rate else 0.0
        step = max(1, round(rate * seconds_per_hash)) if seconds_per_hash > 0 and rate > 0 else 1
        index = 0
        hashed = 0
        try:
            for packet in container.demux(stream):
                if time.monotonic() > deadline:
                    raise MediaError("timeout", f"decoding took more than {limits.max_decode_s:.0f} s")
                for frame in packet.decode():
                    ts = float(frame.time) if frame.time is not None else (index / rate if rate else 0.0)
                    if ts > limits.max_duration_s:
                        raise MediaError("too_long", f"frame at {ts:.0f} s > limit {limits.max_duration_s:.0f} s")
                    if index % step == 0:
                        if hashed >= limits.max_frames:
                            raise MediaError("too_many_frames", f"more than {limits.max_frames} hashed frames")
                        if frame.width * frame.height > limits.max_pixels:
                            raise MediaError("too_many_pixels", "frame larger than the pixel limit")
                        sig = _luma_signature(frame)
                        hashed += 1
                        yield VpdqFrame(index, sig.hash, sig.quality, ts)
                    index += 1
        except MediaError:
            raise
        except (av.error.FFmpegError, OSError, ValueError, MemoryError) as exc:
            raise MediaError("corrupt", f"video decoding failed: {type(exc).__name__}") from None
        except Exception as exc:  # hostile input must never escape as a crash; log it to fix the gap
            log.warning("unexpected %s while decoding a video", type(exc).__name__, exc_info=True)
            raise MediaError("corrupt", f"video decoding failed: {type(exc).__name__}") from None
        if index == 0:
            raise MediaError("corrupt", "no decodable video frames")


class VpdqHasher(Hasher):
    """vPDQ for videos. ``seconds_per_hash=0`` hashes every frame (as Meta's regression outputs do)."""

    name: ClassVar[str] = "vpdq"
    kinds: ClassVar[frozenset[str]] = frozenset({"video"})

    def __init__(self, limits: DecodeLimits = DEFAULT_LIMITS, seconds_per_hash: float = 0.0) -> None:
        super().__init__(limits)
        self.seconds_per_hash = seconds_per_hash

    def hash_bytes(self, data: bytes) -> VpdqSignature:
        if len(data) > self.limits.max_video_bytes:
            raise MediaError("too_large", f"{len(data)} bytes > limit {self.limits.max_video_bytes}")
        return VpdqSignature(tuple(iter_frames(io.BytesIO(data), self.limits, self.seconds_per_hash)))

    def hash_file(self, path: str | Path) -> VpdqSignature:
        p = Path(path)
        try:
            size = p.stat().st_size
        except OSError:
            raise MediaError("not_found", "no such file") from None
        if size > self.limits.max_video_bytes:
            raise MediaError("too_large", f"{size} bytes > limit {self.limits.max_video_bytes}")
        if size == 0:
            raise MediaError("empty", "file is empty")
        return VpdqSignature(tuple(iter_frames(p, self.limits, self.seconds_per_hash)))

    def parse(self, signal: str) -> VpdqSignature:
        return parse_vpdq(signal)

    def get_params(self) -> dict[str, Any]:
        return {"seconds_per_hash": self.seconds_per_hash}


def match_ratios(query: Sequence[str], target: Sequence[str], threshold: int = MATCH_THRESHOLD
                 ) -> tuple[float, float]:
    """Brute-force reference of the vPDQ rule on two sets of (usable, distinct) frame hashes: the share
    of query frames within ``threshold`` of some target frame, and the share of target frames within
    ``threshold`` of some query frame. The banks' index-based matcher is tested against this."""
    if not query or not target:
        return 0.0, 0.0
    q, t = to_words(query), to_words(target)
    d = np.bitwise_count(q[:, None, :] ^ t[None, :, :]).sum(axis=2) <= threshold
    return float(d.any(axis=1).mean()), float(d.any(axis=0).mean())


def frame_distance(a: VpdqFrame, b: VpdqFrame) -> int:
    return hamming(a.pdq, b.pdq)
