from datetime import UTC, datetime

import numpy as np
import pytest

from bastion.accounts.ban_evasion import BanEvasionDetector
from bastion.accounts.evasion_index import FingerprintIndex
from bastion.accounts.fingerprint import Derived, Fingerprint
from bastion.accounts.synthetic import Population
from bastion.catalogue import build
from bastion.detector import PostContext
from bastion.records import (
    Account,
    AccountId,
    EnforcementEvent,
    EnforcementKind,
    Media,
    MediaId,
    Post,
    PostId,
    TargetKind,
)

NOW = datetime(2016, 3, 1, tzinfo=UTC)


def acc(aid: str, handle: str | None = None, **kw: object) -> Account:
    return Account(id=AccountId(aid), handle=handle or aid, **kw)  # type: ignore[arg-type]


def suspend(aid: str, kind: EnforcementKind = EnforcementKind.SUSPEND) -> EnforcementEvent:
    return EnforcementEvent(id=f"e-{aid}-{kind}", kind=kind, target_kind=TargetKind.ACCOUNT, target_id=aid,
                            created_at=NOW)


@pytest.fixture(scope="module")
def population() -> tuple[FingerprintIndex, list[Fingerprint], Population]:
    pop = Population(seed=3)
    fps = [pop.profile() for _ in range(3000)]
    idx = FingerprintIndex()
    idx.add_many(fps[:2000])
    for fp in fps[2000:]:  # the incremental path too
        idx.add(fp)
    return idx, fps, pop


def test_index_agrees_with_brute_force(population: tuple[FingerprintIndex, list[Fingerprint], Population]) -> None:
    idx, fps, pop = population
    agree = 0
    queries = [pop.evade(fps[i]) for i in range(0, 3000, 150)]
    for q in queries:
        d = Derived.of(q)
        fast, slow = idx.query(d, k=1), idx.brute_force(d, k=1)
        assert slow and fast
        agree += fast[0].account_id == slow[0].account_id
    assert agree >= len(queries) - 1  # the index may miss only what its keys cannot reach


def test_evaders_rank_first_and_strangers_do_not_link(
        population: tuple[FingerprintIndex, list[Fingerprint], Population]) -> None:
    idx, fps, pop = population
    hits = sum(idx.query(Derived.of(pop.evade(fps[i])), k=1)[0].account_id == fps[i].account_id
               for i in range(0, 3000, 100))
    assert hits >= 27  # of 30
    strangers = [Population(seed=99).profile() for _ in range(50)]
    links = sum(1 for s in strangers for m in idx.query(Derived.of(s), k=1) if m.score >= 0.6)
    assert links <= 1


def test_numbered_handle_with_same_name_is_strong_and_explained() -> None:
    det = BanEvasionDetector()
    det.suspend(acc("1", "abuexample102", display_name="Abu Example"))
    det.suspend(acc("2", "gardener", display_name="Green Thumb", bio="plants and soil"))
    (sig,), = det.detect_accounts([acc("3", "abuexample108", display_name="Abu Example")])
    assert sig.name == "ban_evasion" and sig.value >= 0.85
    top = sig.details["candidates"][0]
    assert top["account_id"] == "1"
    assert {"handle", "name"} <= set(top["evidence"])


def test_lookalike_handle_and_avatar_and_identifier() -> None:
    det = BanEvasionDetector()
    pdq = "f" * 64
    det.suspend(acc("old", "Khilafah_Lion", avatar=Media(id=MediaId("a"), pdq=pdq), identifiers=("dev:abc",)))
    near = "0" + "f" * 63  # 4 bits away
    new = acc("new", "Kh\u0456lafahLion7", avatar=Media(id=MediaId("b"), pdq=near))
    (sig,), = det.detect_accounts([new])
    assert sig.details["candidates"][0]["account_id"] == "old"
    assert "avatar" in sig.details["candidates"][0]["evidence"] and sig.value >= 0.9
    (sig2,), = det.detect_accounts([acc("other", "unrelated", identifiers=("dev:abc",))])
    assert sig2.value >= 0.9 and "identifier" in sig2.details["candidates"][0]["evidence"]


def test_same_stem_but_different_person_is_only_medium() -> None:
    det = BanEvasionDetector()
    det.suspend(acc("1", "riverwatch1", display_name="Delta Rowing Club", bio="rowing regattas results",
                    location="Lakeside"))
    (sig,), = det.detect_accounts([acc("2", "riverwatch2", display_name="Mira Stone",
                                       bio="photographs of birds", location="Hilltown")])
    assert 0 < sig.value < 0.6


def test_observe_suspension_uses_cached_profile_and_reinstate_drops_it() -> None:
    det = BanEvasionDetector()
    det.detect_accounts([acc("1", "shadowfox_01", display_name="Shadow Fox")])
    det.observe([suspend("1")])
    assert "1" in det.index.rows
    (sig,), = det.detect_accounts([acc("2", "shadowfox_02", display_name="Shadow Fox")])
    assert sig.details["candidates"][0]["account_id"] == "1"
    det.observe([suspend("1", EnforcementKind.REINSTATE)])
    (sig,), = det.detect_accounts([acc("3", "shadowfox_03", display_name="Shadow Fox")])
    assert sig.value == 0.0


def test_suspension_before_profile_is_kept_pending() -> None:
    det = BanEvasionDetector()
    det.observe([suspend("9")])
    assert "9" not in det.index.rows
    det.detect_accounts([acc("9", "latecomer_9", display_name="Late Comer")])
    assert "9" in det.index.rows
    assert det.detect_accounts([acc("9", "latecomer_9")]) == [()]  # a suspended account is not checked


def test_posting_style_recheck_through_account_signals() -> None:
    det = BanEvasionDetector(recheck_after_posts=2)
    old = acc("old", "qqq_first")
    det.detect_accounts([old])
    for i in range(3):
        post = Post(id=PostId(f"p{i}"), account_id=AccountId("old"), text="x", hashtags=("tagone", "tagtwo"),
                    mentions=("someone",))
        det.detect([PostContext(post=post, author=old)])
    det.observe([suspend("old")])
    new = acc("new", "zzz_second")
    det.detect_accounts([new])
    for i in range(2):
        post = Post(id=PostId(f"n{i}"), account_id=AccountId("new"), text="x", hashtags=("tagone", "tagtwo"),
                    mentions=("someone",))
        det.detect([PostContext(post=post, author=new)])
    out = det.account_signals()
    assert set(out) == {"new"}
    (sig,) = out["new"]
    assert sig.details["stage"] == "posting_style"
    assert sig.details["candidates"][0]["account_id"] == "old"
    assert det.account_signals() == {}


def test_snapshot_restore_round_trip_without_pickle() -> None:
    (det,) = build(["ban_evasion"])
    assert isinstance(det, BanEvasionDetector)
    det.suspend(acc("1", "abuexample102", display_name="Abu Example", avatar=Media(id=MediaId("m"), pdq="a" * 64)))
    det.detect_accounts([acc("5", "someone_else")])
    det.observe([suspend("7")])
    data = det.snapshot()
    assert data is not None and data[:2] == b"PK"  # a zip (.npz), not a pickle stream
    np.load(__import__("io").BytesIO(data), allow_pickle=False).close()
    fresh = BanEvasionDetector()
    fresh.restore(data)
    q = acc("3", "abuexample108", display_name="Abu Example")
    assert [m.to_json() for m in fresh.check(q)] == [m.to_json() for m in det.check(q)]
    assert fresh.cached("5") is not None
    fresh.detect_accounts([acc("7", "pending_one")])  # the pending suspension survived the restore
    assert "7" in fresh.index.rows
    assert dict(fresh.get_params()) == dict(det.get_params())
