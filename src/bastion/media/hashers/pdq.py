"""PDQ for images, agreeing bit for bit with Meta's C++ reference on the same luma.

The reference (``pdqHash256FromFloatLuma``) blurs the full-size luma with a Jarosz filter (two passes of a
box filter along rows, then columns), samples a 64x64 grid, takes a 16x16 block of a DCT (without DC) and
thresholds it at its median. Box filters and sampling are linear, so the whole downsampler is a pair of
matrices: ``grid = A @ luma @ B.T`` with ``A`` (64 x rows) and ``B`` (64 x cols) built once per image
dimension (cached). On one core that is one BLAS call instead of four passes over the image plus the
reference binding's float64 grey conversion, and together with decoding JPEGs straight to luma it is where
the speed-up over ``PIL + pdqhash`` comes from. The box-filter edges, decimation indices, quality metric,
DCT matrix and the Torben median (the lower median, the 128th of 256 values) follow the reference
(``pdq/cpp/hashing/pdqhashing.cpp``, ``pdq/cpp/downscaling/downscaling.cpp``), so on identical luma the
hashes agree exactly (tests/media/test_pdq.py checks this against ``pdqhash``).

Bit order: bit ``k = 16 i + j`` of the 16x16 DCT block is set when the coefficient exceeds the median; the
hex string is most significant bit (255) first, as the reference prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from bastion.media.bits import is_hex256
from bastion.media.decode import decode_grey
from bastion.media.hashers.base import Hasher

DOWNSAMPLE = 64
#: Meta's recommended thresholds: distance <= 31 is a match; hashes of quality < 50 should be discarded.
MATCH_THRESHOLD = 31
MIN_QUALITY = 50


@dataclass(frozen=True, slots=True)
class PdqSignature:
    hash: str
    quality: int

    @property
    def signal_type(self) -> str:
        return "pdq"

    def signal_str(self) -> str:
        return self.hash

    def to_json(self) -> dict[str, Any]:
        return {"pdq": self.hash, "quality": self.quality}


def _window(old: int) -> int:
    """``computeJaroszFilterWindowSize``: the box width that blurs ``old`` samples down to 64."""
    return (old + 2 * DOWNSAMPLE - 1) // (2 * DOWNSAMPLE)


def _box_rows(n: int, w: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Window [lo, hi) averaged into output j by the reference's ``box1DFloat`` (its four phases)."""
    half = (w + 2) // 2
    j = np.arange(n)
    lo = np.maximum(0, j - (w - half))
    hi = np.minimum(n, j + half)
    return lo, hi


@lru_cache(maxsize=128)
def axis_matrix(n: int) -> NDArray[np.float32]:
    """The 64 x n matrix: two box-filter passes along an axis of length ``n``, then decimation."""
    w = _window(n)
    lo, hi = _box_rows(n, w)
    out = np.zeros((DOWNSAMPLE, n), dtype=np.float64)
    for r in range(DOWNSAMPLE):
        i = int(((r + 0.5) * n) / DOWNSAMPLE)  # decimateFloat's sample index
        # Row i of (B @ B): the average, over j in window(i), of row j of B.
        inv_i = 1.0 / (hi[i] - lo[i])
        for j in range(int(lo[i]), int(hi[i])):
            out[r, lo[j]:hi[j]] += inv_i / (hi[j] - lo[j])
    res = out.astype(np.float32)
    res.setflags(write=False)
    return res


def _dct_matrix() -> NDArray[np.float32]:
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(64, dtype=np.float64)[None, :]
    m: NDArray[np.float32] = (np.sqrt(2.0 / 64.0) * np.cos((np.pi / 2 / 64.0) * i * (2 * j + 1))).astype(
        np.float32)
    return m


DCT16x64 = _dct_matrix()


def quality_of(grid: NDArray[np.float32]) -> int:
    """``computePDQImageDomainQualityMetric``: summed truncated gradients of the 64x64 grid, scaled."""
    dv = np.trunc((grid[:-1, :] - grid[1:, :]) * 100 / 255).astype(np.int32)
    dh = np.trunc((grid[:, :-1] - grid[:, 1:]) * 100 / 255).astype(np.int32)
    total = int(np.abs(dv).sum()) + int(np.abs(dh).sum())
    return min(100, total // 90)


def grid64(luma: NDArray[Any]) -> NDArray[np.float32]:
    """The reference's blurred 64x64 downsample of a 2-D luma array (any real dtype)."""
    rows, cols = luma.shape
    g = np.asarray(luma, dtype=np.float32)
    return np.asarray((axis_matrix(rows) @ g) @ axis_matrix(cols).T, dtype=np.float32)


def hash_grid(grid: NDArray[np.float32]) -> PdqSignature:
    """PDQ hash and quality from a 64x64 grid (``dct64To16`` + ``pdqBuffer16x16ToBits``)."""
    quality = quality_of(grid)
    coeffs = (DCT16x64 @ grid @ DCT16x64.T).ravel()
    median = np.partition(coeffs, 127)[127]
    bits = coeffs[::-1] > median  # bit 255 first
    return PdqSignature(np.packbits(bits).tobytes().hex(), quality)


def pdq_from_luma(luma: NDArray[Any], *, offset: float = 0.0, scale: float = 1.0) -> PdqSignature:
    """Hash a 2-D luma array. ``offset``/``scale`` map stored values to 0..255 luma (``(v - offset) *
    scale``), e.g. limited-range video luma; applied to the 64x64 grid, which is equivalent because every
    row of the downsampling matrices sums to one."""
    if luma.ndim != 2 or luma.shape[0] == 0 or luma.shape[1] == 0:
        raise ValueError("luma must be a non-empty 2-D array")
    grid = grid64(luma)
    if offset or scale != 1.0:
        grid = (grid - np.float32(offset)) * np.float32(scale)
    return hash_grid(grid)


def pdq_from_rgb(rgb: NDArray[np.uint8]) -> PdqSignature:
    """Hash an RGB array with the reference's luma weights (0.299, 0.587, 0.114) in float32."""
    a = rgb.astype(np.float32)
    luma = a[..., 0] * np.float32(0.299) + a[..., 1] * np.float32(0.587) + a[..., 2] * np.float32(0.114)
    return pdq_from_luma(luma)


class PdqHasher(Hasher):
    """PDQ for still images (the first frame of an animation)."""

    name: ClassVar[str] = "pdq"
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})

    def hash_bytes(self, data: bytes) -> PdqSignature:
        return pdq_from_luma(decode_grey(data, self.limits))

    def parse(self, signal: str) -> PdqSignature:
        s = signal.strip().lower()
        if not is_hex256(s):
            raise ValueError("a PDQ hash is 64 hex characters")
        return PdqSignature(s, 100)
