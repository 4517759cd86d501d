"""Bank semantics: thresholds, quality gate, vPDQ rule, negative banks and opinions, status, enabled
ratio, flood quarantine."""

from __future__ import annotations

import numpy as np
import pytest

from bastion.errors import ConfigError, NotFound
from bastion.media.banks.bankset import BankSet, Query, coin
from bastion.media.banks.flood import FloodGuard
from bastion.media.banks.model import (
    BankConfig,
    BankEntry,
    EntryLabels,
    EntryStatus,
    Opinion,
    canonical_signal_type,
    entry_weight,
)
from bastion.media.bits import to_hex
from bastion.media.hashers.vpdq import VpdqFrame, VpdqSignature, match_ratios


def _h(seed: int) -> str:
    return to_hex(np.random.default_rng(seed).integers(0, 2**64, size=(1, 4), dtype=np.uint64))[0]


def _flip(h: str, n: int) -> str:
    v = int(h, 16)
    for b in range(n):
        v ^= 1 << (b * 7 % 256)
    return f"{v:064x}"


@pytest.fixture
def bs() -> BankSet:
    b = BankSet([BankConfig("terror"), BankConfig("strict", pdq_threshold=10),
                 BankConfig("allow", negative=True)])
    b.add_entries([BankEntry("terror", "pdq", _h(1), EntryLabels(entity="OrgA", behaviour="glorification_of_acts")),
                   BankEntry("strict", "pdq", _h(2)),
                   BankEntry("terror", "video_md5", "A" * 32),
                   BankEntry("terror", "sha256", "b" * 64)])
    return b


def test_pdq_thresholds_per_bank(bs: BankSet) -> None:
    assert [m.entry.bank for m in bs.match(Query(pdq=_flip(_h(1), 31))).matches] == ["terror"]
    assert bs.match(Query(pdq=_flip(_h(1), 32))).matches == []
    assert [m.distance for m in bs.match(Query(pdq=_flip(_h(2), 10))).matches] == [10]
    assert bs.match(Query(pdq=_flip(_h(2), 11))).matches == []


def test_quality_gate(bs: BankSet) -> None:
    assert bs.match(Query(pdq=_h(1), pdq_quality=49)).matches == []
    assert len(bs.match(Query(pdq=_h(1), pdq_quality=50)).matches) == 1


def test_exact_hashes_and_aliases(bs: BankSet) -> None:
    assert bs.match(Query(md5="a" * 32)).matches[0].signal_type == "md5"
    assert bs.match(Query(sha256="B" * 64)).matches[0].distance == 0
    assert canonical_signal_type("HASH_PDQ") == "pdq"
    with pytest.raises(ValueError):
        canonical_signal_type("tmk")


def test_negative_bank_suppresses(bs: BankSet) -> None:
    bs.add_entry(BankEntry("allow", "pdq", _flip(_h(1), 3)))
    res = bs.match(Query(pdq=_h(1)))
    assert res.matches == [] and len(res.suppressed) == 1 and res.negatives[0].entry.bank == "allow"


def test_negative_opinion_entry_is_an_allow_list(bs: BankSet) -> None:
    bs.add_entry(BankEntry("terror", "pdq", _h(9), EntryLabels(opinion=Opinion.NEGATIVE)))
    bs.add_entry(BankEntry("strict", "pdq", _flip(_h(9), 2)))
    res = bs.match(Query(pdq=_h(9)))
    assert res.matches == [] and len(res.suppressed) == 1


def test_disputed_weight() -> None:
    e = BankEntry("b", "md5", "0" * 32, EntryLabels(opinion=Opinion.DISPUTED, confidence=0.9))
    assert entry_weight(e) == 0.5
    with pytest.raises(ValueError):
        EntryLabels(confidence=1.5)


def test_disable_and_remove(bs: BankSet) -> None:
    e = bs.match(Query(pdq=_h(1))).matches[0].entry
    bs.set_status(e.id, EntryStatus.DISABLED, "false positive")
    assert bs.match(Query(pdq=_h(1))).matches == []
    assert bs.lookup(Query(pdq=_h(1))) == []
    bs.set_status(e.id, EntryStatus.ACTIVE)
    assert bs.match(Query(pdq=_h(1))).matches
    bs.remove_entry(e.id)
    assert bs.match(Query(pdq=_h(1))).matches == []
    with pytest.raises(NotFound):
        bs.remove_entry(e.id)


def test_new_entry_matches_at_once(bs: BankSet) -> None:
    h = _h(42)
    assert bs.match(Query(pdq=h)).matches == []
    bs.add_entry(BankEntry("terror", "pdq", h))
    assert bs.match(Query(pdq=_flip(h, 5))).matches[0].distance == 5


def test_enabled_ratio_is_a_stable_coin() -> None:
    b = BankSet([BankConfig("half", enabled_ratio=0.5), BankConfig("off", enabled_ratio=0.0)])
    b.add_entries([BankEntry("half", "md5", "1" * 32), BankEntry("off", "md5", "1" * 32)])
    results = [bool(b.match(Query(md5="1" * 32), seed=f"item{i}").matches) for i in range(400)]
    assert 120 < sum(results) < 280
    assert results == [bool(b.match(Query(md5="1" * 32), seed=f"item{i}").matches) for i in range(400)]
    assert all(m.entry.bank == "half" for i in range(50)
               for m in b.match(Query(md5="1" * 32), seed=f"x{i}").matches)
    assert 0 <= coin("a", "b") < 1


def test_bank_errors() -> None:
    b = BankSet([BankConfig("x")])
    with pytest.raises(ConfigError):
        b.add_bank(BankConfig("x"))
    with pytest.raises(ConfigError):
        b.add_entry(BankEntry("nope", "md5", "0" * 32))
    with pytest.raises(ValueError):
        b.add_entry(BankEntry("x", "pdq", "123"))
    with pytest.raises(ValueError):
        BankConfig("y", enabled_ratio=2)
    b.add_entry(BankEntry("x", "md5", "0" * 32))
    assert b.remove_bank("x") == 1 and not b.entries


def test_flood_quarantine() -> None:
    b = BankSet([BankConfig("t", flood_limit=3, flood_window_s=60)])
    bad = b.add_entry(BankEntry("t", "pdq", "0" * 64))
    hits = []
    for i in range(6):
        q = Query(pdq=_flip("0" * 64, 1 + i % 4), sha256=f"{i:064x}")
        res = b.match(q, at=1000.0 + i)
        hits.append((len(res.matches), len(res.quarantined), len(res.events)))
    assert hits[:3] == [(1, 0, 0)] * 3
    assert hits[3] == (0, 1, 1)           # the 4th distinct item in a minute pauses the entry
    assert hits[4:] == [(0, 1, 0)] * 2
    assert b.entries[bad.id].status is EntryStatus.QUARANTINED
    # reposts of one file count once; old items leave the window
    g = FloodGuard()
    assert all(g.observe(1, "t", "same", float(t), limit=2, window_s=10) is None for t in range(10))
    assert g.observe(1, "t", "a", 100.0, limit=2, window_s=10) is None
    assert g.observe(1, "t", "b", 101.0, limit=2, window_s=10) is None
    assert g.observe(1, "t", "c", 102.0, limit=2, window_s=10) is not None
    assert FloodGuard.from_json(g.to_json()).to_json() == g.to_json()


def _video(hashes: list[str], quality: int = 100) -> VpdqSignature:
    return VpdqSignature(tuple(VpdqFrame(i, h, quality, i / 10) for i, h in enumerate(hashes)))


def test_vpdq_rule_matches_brute_force() -> None:
    frames = [_h(100 + i) for i in range(20)]
    b = BankSet([BankConfig("v")])
    b.add_entry(BankEntry("v", "vpdq", _video(frames).signal_str()))
    for keep in (20, 17, 16, 15, 10):  # share of the query's frames that come from the banked video
        query = [_flip(f, 8) for f in frames[:keep]] + [_h(500 + i) for i in range(20 - keep)]
        ratio, _ = match_ratios(query, frames)
        matched = b.match(Query(vpdq=_video(query))).matches
        assert bool(matched) == (ratio >= 0.8), keep
        if matched:
            assert matched[0].frame_ratio == pytest.approx(ratio)
    # low-quality frames do not count, identical frames count once
    q = _video([frames[0]] * 5 + [_h(900)], quality=100)
    assert b.match(Query(vpdq=q)).matches == []  # 1 of 2 distinct frames
    b.remove_entry(next(iter(b.entries)))
    assert b.match(Query(vpdq=_video(frames))).matches == []
