"""Media test fixtures: Meta's benign test vectors (read-only, from the shared data folder) and generated
benign images (smooth random fields and shapes) that stand in for banked content."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "data" / "media-test-vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"media test vectors not found at {VECTORS}")
    return VECTORS


def benign_array(seed: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A colourful but meaningless picture: a smooth random field with a few shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.normal(size=(max(2, h // 20), max(2, w // 20), 3))
    base = (base - base.min()) / (np.ptp(base) or 1.0) * 255
    img = Image.fromarray(base.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return np.asarray(img)


def encode(arr: np.ndarray, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """Write a benign image: ``make_image(seed, name="x.jpg", size=(w, h), fmt="JPEG", **save_kw)``."""

    def make(seed: int, name: str | None = None, size: tuple[int, int] = (320, 240), fmt: str = "JPEG",
             **kw: object) -> Path:
        p = tmp_path / (name or f"img{seed}.{fmt.lower()}")
        p.write_bytes(encode(benign_array(seed, size), fmt, **kw))
        return p

    return make
