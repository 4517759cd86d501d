"""The multi-index-hashing index is exact: it returns what brute force returns, at every threshold,
through incremental adds, removes, merges, compaction and a save/load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bastion.media.bits import to_hex, to_words
from bastion.media.index.mih import MIHIndex, chunk_radii, probes_per_query


def _random(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64, size=(n, 4), dtype=np.uint64)


def _flip(words: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    out = words.copy()
    b = out.view(np.uint8)
    for i in range(len(out)):
        for x in rng.choice(256, bits, replace=False):
            b[i, x // 8] ^= np.uint8(1 << (x % 8))
    return out


def _brute(words: np.ndarray, labels: np.ndarray, alive: np.ndarray, q: np.ndarray, t: int) -> set[int]:
    d = np.bitwise_count(words ^ q).sum(axis=1)
    return set(labels[(d <= t) & alive].tolist())


def _queries(words: np.ndarray, rng: np.random.Generator, n: int = 60) -> np.ndarray:
    src = words[rng.integers(0, len(words), n)]
    planted = np.concatenate([_flip(src[i:i + 1], int(k), rng) for i, k in enumerate(rng.integers(0, 45, n))])
    return np.concatenate([planted, _random(10, 99)])


@pytest.mark.parametrize(("threshold", "sketch"), [(0, 2), (5, 1), (15, 0), (31, 0), (31, 1), (31, 2), (40, 2),
                                                    (63, 1), (80, 2)])
def test_exact_against_brute_force(threshold: int, sketch: int) -> None:
    rng = np.random.default_rng(threshold)
    words = _random(20_000, 1)
    # clusters of near-duplicates so that results are not trivially empty
    words[:500] = _flip(np.repeat(words[:1], 500, axis=0), 12, rng)
    labels = np.arange(len(words), dtype=np.int64) * 7
    idx = MIHIndex.build(words, labels, sketch=sketch)
    qs = _queries(words, rng)
    qi, lab, d = idx.search(qs, threshold)
    alive = np.ones(len(words), dtype=bool)
    for i, q in enumerate(qs):
        got = set(lab[qi == i].tolist())
        assert got == _brute(words, labels, alive, q, threshold), i
        for label, dist in zip(lab[qi == i], d[qi == i], strict=True):
            assert dist == int(np.bitwise_count(words[label // 7] ^ q).sum())
    # single-query API: nearest first
    res = idx.query(qs[0], threshold)
    assert [x[1] for x in res] == sorted(x[1] for x in res)


def test_radii_satisfy_the_pigeonhole() -> None:
    for t in range(0, 100):
        radii = chunk_radii(t)
        assert sum(r + 1 for r in radii) >= t + 1
        assert len(radii) == 16
    assert probes_per_query(31) == 16 * 17


@pytest.mark.parametrize("sketch", [0, 1, 2])
def test_incremental_add_remove_merge_compact(tmp_path: Path, sketch: int) -> None:
    rng = np.random.default_rng(5)
    words = _random(5_000, 2)
    idx = MIHIndex.build(words[:3_000], np.arange(3_000), merge_at=256, sketch=sketch)
    labels = np.arange(5_000, dtype=np.int64)
    for i in range(3_000, 3_300):  # one at a time (crosses a merge)
        idx.add(words[i:i + 1], [i])
        assert idx.query(words[i], 0)[0] == (i, 0)  # searchable immediately
    idx.add(words[3_300:], labels[3_300:])  # bulk
    assert len(idx) == 5_000
    alive = np.ones(5_000, dtype=bool)
    for lab in rng.choice(5_000, 400, replace=False):
        assert idx.remove(int(lab)) == 1
        alive[lab] = False
    assert idx.remove(10**9) == 0
    assert len(idx) == 4_600
    qs = _queries(words, rng, 40)

    def check(ix: MIHIndex) -> None:
        qi, lab, _ = ix.search(qs, 31)
        for i, q in enumerate(qs):
            assert set(lab[qi == i].tolist()) == _brute(words, labels, alive, q, 31)

    check(idx)
    idx.add(words[:1], [77_777])  # pending row, then persisted
    path = tmp_path / "idx.npz"
    idx.save(path)
    loaded = MIHIndex.load(path)
    assert len(loaded) == len(idx) == 4_601 and loaded.sketch == sketch
    assert (77_777, 0) in loaded.query(words[0], 0)
    assert loaded.remove(77_777) == 1
    check(loaded)
    loaded.compact()
    assert len(loaded) == 4_600
    check(loaded)


def test_load_rejects_other_files(tmp_path: Path) -> None:
    p = tmp_path / "x.npz"
    np.savez(p, header=np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    with pytest.raises(ValueError):
        MIHIndex.load(p)


def test_empty_and_tiny_indexes() -> None:
    idx = MIHIndex()
    assert idx.query(_random(1, 0)[0], 31) == []
    idx.add(_random(3, 0), [1, 2, 3])
    assert idx.query(_random(3, 0)[1], 0) == [(2, 0)]


def test_hex_round_trip() -> None:
    w = _random(5, 3)
    assert np.array_equal(to_words(to_hex(w)), w)
    with pytest.raises(ValueError):
        to_words(["abc"])
