import numpy as np
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.accounts.keyindex import KeyIndex
from bastion.accounts.minhash import MinHasher, agreement


def true_jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def test_minhash_estimates_jaccard_like_datasketch() -> None:
    a = {f"w{i}" for i in range(40)}
    b = {f"w{i}" for i in range(20, 60)}  # Jaccard 1/3
    hasher = MinHasher(num_perm=128, bands=16)
    sigs = hasher.signatures([a, b, set()])
    ours = float(agreement(sigs[0], sigs[1:2])[0])
    ma, mb = MinHash(num_perm=128), MinHash(num_perm=128)
    for w in a:
        ma.update(w.encode())
    for w in b:
        mb.update(w.encode())
    assert abs(ours - true_jaccard(a, b)) < 0.12
    assert abs(ours - ma.jaccard(mb)) < 0.15
    assert agreement(sigs[0], sigs[2:3])[0] == 0.0  # empty sets never match


def test_band_keys_equal_for_equal_sets_and_zero_for_empty() -> None:
    hasher = MinHasher()
    keys = hasher.band_keys(hasher.signatures([{"a", "b"}, {"b", "a"}, set(), {"zzz"}]))
    assert (keys[0] == keys[1]).all()
    assert (keys[2] == 0).all()
    assert not (keys[0] == keys[3]).any()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 30)), max_size=200), st.integers(1, 7))
def test_keyindex_matches_a_dict(entries: list[tuple[int, int]], merge_every: int) -> None:
    idx = KeyIndex(merge_every=merge_every)
    ref: dict[int, list[int]] = {}
    half = len(entries) // 2
    if half:
        idx.add_many(np.array([k for k, _ in entries[:half]], dtype=np.uint64),
                     np.array([r for _, r in entries[:half]], dtype=np.int64))
    for k, r in entries:
        ref.setdefault(k, []).append(r)
    for k, r in entries[half:]:
        idx.add([k], r)
    keys = np.arange(1, 52, dtype=np.uint64)
    for key, rows, count in zip(keys.tolist(), idx.lookup_many(keys), idx.counts(keys).tolist(), strict=True):
        assert sorted(rows.tolist()) == sorted(ref.get(key, []))
        assert count == len(ref.get(key, []))
    again = KeyIndex.from_arrays("x", idx.to_arrays("x"))
    assert [sorted(r.tolist()) for r in again.lookup_many(keys)] == [sorted(ref.get(k, [])) for k in keys.tolist()]


def test_keyindex_limit_caps_a_bucket() -> None:
    idx = KeyIndex()
    for r in range(100):
        idx.add([7], r)
    assert len(idx.lookup_many(np.array([7], dtype=np.uint64), limit=10)[0]) == 10
    assert idx.counts(np.array([7], dtype=np.uint64))[0] == 100
