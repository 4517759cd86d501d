"""Review thumbnails are small, grayscale and blurred."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bastion.media.decode import MediaError
from bastion.media.thumbnail import review_thumbnail

from .conftest import benign_array, encode


def _sharpness(data: bytes) -> float:
    a = np.asarray(Image.open(io.BytesIO(data)), dtype=np.float32)
    return float(np.abs(np.diff(a, axis=0)).mean() + np.abs(np.diff(a, axis=1)).mean())


def test_grayscale_small_blurred(tmp_path: Path) -> None:
    p = tmp_path / "x.png"
    p.write_bytes(encode(benign_array(7, (640, 480)), "PNG"))
    thumb = review_thumbnail(p)
    with Image.open(io.BytesIO(thumb)) as img:
        assert img.mode == "L" and max(img.size) == 256
    assert _sharpness(thumb) < 0.7 * _sharpness(review_thumbnail(p, blur=0))


def test_video_and_errors(vectors: Path) -> None:
    thumb = review_thumbnail(vectors / "tmk/sample-videos/pattern-sd-grey-bar.mp4", size=128, at=1.0)
    with Image.open(io.BytesIO(thumb)) as img:
        assert img.mode == "L" and max(img.size) == 128
    with pytest.raises(MediaError):
        review_thumbnail(b"not media")
