"""vPDQ: per-frame agreement with Meta's vPDQ regression outputs, frame sampling, the 80 % rule."""

from __future__ import annotations

import itertools
from contextlib import closing
from pathlib import Path

import pytest

from bastion.media.bits import hamming
from bastion.media.decode import DecodeLimits
from bastion.media.hashers.vpdq import VpdqHasher, VpdqSignature, iter_frames, match_ratios, parse_vpdq

VIDEOS = ("doorknob-hd-no-bar", "pattern-sd-grey-bar", "test-padded-dimensions")
N_FRAMES = 10  # the first frames of each video (keeps the suite fast)


def _expected(vectors: Path, name: str) -> list[tuple[int, int, str, float]]:
    rows = []
    for line in (vectors / f"vpdq/sample-hashes/{name}.txt").read_text().splitlines():
        frame, quality, pdq, ts = line.split(",")
        rows.append((int(frame), int(quality), pdq, float(ts)))
    return rows


@pytest.mark.parametrize("name", VIDEOS)
def test_frames_agree_with_reference(vectors: Path, name: str) -> None:
    expected = _expected(vectors, name)
    with closing(iter_frames(vectors / f"tmk/sample-videos/{name}.mp4")) as frames:
        ours = list(itertools.islice(frames, N_FRAMES))
    assert len(ours) == N_FRAMES
    for f, (frame, quality, pdq, ts) in zip(ours, expected, strict=False):
        assert f.frame == frame
        assert f.ts == pytest.approx(ts, abs=1e-3)
        assert abs(f.quality - quality) <= 5
        if quality >= 80:
            assert hamming(f.pdq, pdq) <= 10, (name, frame)
        elif quality >= 50:
            assert hamming(f.pdq, pdq) <= 31, (name, frame)


def test_whole_video_frame_count_and_sampling(vectors: Path) -> None:
    path = vectors / "tmk/sample-videos/pattern-sd-grey-bar.mp4"
    every = VpdqHasher(seconds_per_hash=1.0).hash_file(path)
    assert [f.frame for f in every.frames] == [0, 30, 60, 90, 120, 150, 180]  # 206 frames at 30 fps
    assert [round(f.ts, 3) for f in every.frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    expected = {e[0]: e for e in _expected(vectors, "pattern-sd-grey-bar")}
    assert len(expected) == 206
    for f in every.frames:
        assert hamming(f.pdq, expected[f.frame][2]) <= 10


def test_signal_string_round_trip() -> None:
    sig = parse_vpdq('["' + "a" * 64 + ',100,0.000","' + "b" * 64 + ',40,1.000"]')
    assert isinstance(sig, VpdqSignature)
    assert parse_vpdq(sig.signal_str()) == sig
    assert sig.usable(50) == ["a" * 64]
    for bad in ("{}", "[1]", '["zz,1,1"]', '["' + "a" * 64 + ',101,0"]', "not json"):
        with pytest.raises(ValueError):
            parse_vpdq(bad)


def test_match_ratios_rule() -> None:
    a, b, c = "0" * 64, "f" * 64, "0" * 60 + "ffff"  # c is 16 bits from a
    assert match_ratios([a, b], [c]) == (0.5, 1.0)
    assert match_ratios([a], [a, b]) == (1.0, 0.5)
    assert match_ratios([], [a]) == (0.0, 0.0)


def test_frame_cap_and_duration_cap(vectors: Path) -> None:
    from bastion.media.decode import MediaError

    path = vectors / "tmk/sample-videos/test-padded-dimensions.mp4"
    with pytest.raises(MediaError) as e1:
        VpdqHasher(DecodeLimits(max_frames=3)).hash_file(path)
    assert e1.value.code == "too_many_frames"
    with pytest.raises(MediaError) as e2:
        VpdqHasher(DecodeLimits(max_duration_s=2.0)).hash_file(path)
    assert e2.value.code == "too_long"
    with pytest.raises(MediaError) as e3:
        VpdqHasher(DecodeLimits(max_pixels=1000)).hash_file(path)
    assert e3.value.code == "too_many_pixels"
    with pytest.raises(MediaError) as e4:
        VpdqHasher(DecodeLimits(max_video_bytes=1000)).hash_file(path)
    assert e4.value.code == "too_large"
