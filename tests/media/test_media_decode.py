"""Safe decoding: limits, broken files, and a fuzz test over mutated images and videos.

Every failure must be a MediaError with a known code (a per-item error), never another exception, a crash
or a hang."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.media.decode import ERROR_CODES, DecodeLimits, MediaError, decode_grey, sniff_kind
from bastion.media.hashing import hash_bytes, hash_file

from .conftest import benign_array, encode


def small_video(frames: int = 8, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(benign_array(i, size), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return buf.getvalue()


def png_bomb(side: int) -> bytes:
    """A valid PNG header declaring side x side pixels, with a tiny compressed body."""
    import struct

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * (side + 1) * 16, 9)  # far too short: decoding stops early
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _code(data: bytes, limits: DecodeLimits | None = None) -> str:
    with pytest.raises(MediaError) as exc:
        hash_bytes(data, limits or DecodeLimits())
    assert exc.value.code in ERROR_CODES
    return exc.value.code


def test_decompression_bomb_refused_before_decoding() -> None:
    assert _code(png_bomb(100_000)) == "too_many_pixels"
    assert _code(encode(benign_array(0)), DecodeLimits(max_pixels=1000)) == "too_many_pixels"


def test_byte_limit() -> None:
    assert _code(encode(benign_array(0)), DecodeLimits(max_bytes=100)) == "too_large"


def test_truncated_corrupt_unsupported_empty() -> None:
    jpeg = encode(benign_array(3))
    assert _code(jpeg[: len(jpeg) // 2]) in ("truncated", "corrupt")
    assert _code(b"\xff\xd8\xff\xe0" + b"\x00" * 200) in ("corrupt", "unsupported", "truncated")
    assert _code(b"hello, this is not an image at all") == "unsupported"
    assert _code(b"") == "empty"
    video = small_video()
    assert _code(video[: len(video) // 3]) in ("corrupt", "unsupported", "truncated")


def test_files(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as e:
        hash_file(tmp_path / "missing.jpg")
    assert e.value.code == "not_found"
    with pytest.raises(MediaError) as e:
        hash_file(tmp_path)
    assert e.value.code == "unsupported"
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(MediaError) as e:
        hash_file(tmp_path / "empty.jpg")
    assert e.value.code == "empty"


def test_modes_and_formats() -> None:
    arr = benign_array(5, (96, 64))
    ref = hash_bytes(encode(arr, "PNG")).pdq
    assert ref is not None
    from PIL import Image

    for mode in ("L", "LA", "RGBA", "P", "CMYK", "I;16", "1"):
        buf = io.BytesIO()
        img = Image.fromarray(arr).convert(mode if mode != "I;16" else "L")
        if mode == "I;16":
            img = Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
        img.save(buf, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
        h = hash_bytes(buf.getvalue()).pdq
        assert h is not None, mode
    gif = io.BytesIO()
    Image.fromarray(arr).save(gif, format="GIF", save_all=True,
                              append_images=[Image.fromarray(benign_array(6, (96, 64)))])
    assert hash_bytes(gif.getvalue()).kind == "image"
    webp = encode(arr, "WEBP")
    assert hash_bytes(webp).pdq is not None


def test_sniff_kind() -> None:
    assert sniff_kind(small_video()[:512]) == "video"
    assert sniff_kind(encode(benign_array(0))[:512]) == "image"
    assert sniff_kind(b"\x1a\x45\xdf\xa3rest") == "video"


def test_grey_decode_shape() -> None:
    g = decode_grey(encode(benign_array(0, (200, 100))))
    assert g.shape == (100, 200) and g.dtype == np.uint8


def test_large_jpeg_is_draft_decoded_and_still_close() -> None:
    from bastion.media.bits import hamming

    arr = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(benign_array(9, (200, 150)))
                     .resize((2400, 1800)))
    data = encode(arr, quality=90)
    full = hash_bytes(data, DecodeLimits(jpeg_draft_min_side=0)).pdq
    draft = hash_bytes(data).pdq  # short side 1800 < 2 * 1024: not reduced
    reduced = hash_bytes(data, DecodeLimits(jpeg_draft_min_side=512)).pdq
    assert full and draft and reduced
    assert draft.hash == full.hash
    assert hamming(reduced.hash, full.hash) <= 10


SEEDS = {"jpeg": encode(benign_array(11, (64, 48)), quality=80), "png": encode(benign_array(12, (48, 32)), "PNG"),
         "gif": encode(benign_array(13, (40, 30)), "GIF"), "mp4": small_video(4, (32, 32))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_fuzz_mutated_files_fail_cleanly(kind: str, data: st.DataObject) -> None:
    raw = bytearray(SEEDS[kind])
    ops = data.draw(st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "zero"]),
                                       st.integers(0, len(raw) - 1), st.integers(1, 64)), min_size=1, max_size=4))
    for op, pos, n in ops:
        pos = min(pos, max(0, len(raw) - 1))
        if op == "flip" and raw:
            raw[pos] ^= 1 << (n % 8)
        elif op == "cut":
            del raw[pos:]
        elif op == "insert":
            raw[pos:pos] = bytes([n]) * n
        else:
            raw[pos:pos + n] = b"\x00" * len(raw[pos:pos + n])
    limits = DecodeLimits(max_decode_s=5.0, max_frames=50, max_pixels=4_000_000)
    try:
        h = hash_bytes(bytes(raw), limits)
    except MediaError as exc:
        assert exc.code in ERROR_CODES
    else:
        assert h.kind in ("image", "video") and len(h.sha256) == 64
