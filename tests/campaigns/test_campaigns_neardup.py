"""Near-duplicate clusters and coordination summaries."""

from __future__ import annotations

import json
import subprocess
import sys

from bastion.campaigns.coordination import DUP, FLAGGED, RISKY, AccountBook, Obs, coordination
from bastion.campaigns.neardup import NearDupIndex, _TokenHashes, hamming, simhash, tokens

BASE = "Heavy rain expected across the northern valley roads this evening say officials"


def test_tokens_drop_retweet_prefix_links_mentions_and_digits() -> None:
    toks = tokens("RT @someone: Road 66 closed http://t.co/abc @desk")
    assert toks == ["road", "closed", "road closed"]


def test_token_pairs_are_the_words_side_by_side() -> None:
    assert tokens("Road closed near the bridge") == ["road", "closed", "near", "the", "bridge", "road closed",
                                                    "closed near", "near the", "the bridge"]


def test_memoised_digests_are_each_token_s_own_in_order() -> None:
    """The batch look-up gives each token its own digest whether the memo knows it, not yet, or was emptied."""
    memo, fresh = _TokenHashes(limit=3), _TokenHashes()
    words = ["road", "closed", "near", "the", "bridge", "road"]
    assert memo.digests(words[:2]) == [fresh.digest(w) for w in words[:2]]  # unknown, then learnt
    assert memo.digests(words) == [fresh.digest(w) for w in words]  # some known, the memo emptied on the way
    assert len({*memo.digests(words)}) == 5


def test_near_duplicates_are_close_and_others_far() -> None:
    a = simhash(BASE)
    b = simhash(f"RT @relay: {BASE} http://t.co/x1 @desk")
    c = simhash("A recipe for lentil soup with cumin lemon and plenty of fresh parsley")
    assert a is not None and b is not None and c is not None
    assert hamming(a, b) == 0
    assert hamming(a, c) > 10
    assert simhash("too short") is None


def test_simhash_is_stable_across_processes() -> None:
    code = f"from bastion.campaigns.neardup import simhash; print(simhash({BASE!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == simhash(BASE)


def test_index_clusters_within_horizon_and_round_trips() -> None:
    idx = NearDupIndex(max_distance=3, horizon_s=3600)
    fp = simhash(BASE)
    other = simhash("A recipe for lentil soup with cumin lemon and plenty of fresh parsley")
    assert fp is not None and other is not None
    c1 = idx.assign(fp, 0.0)
    assert idx.assign(fp ^ 0b101, 60.0) == c1  # two bits away: same cluster
    assert idx.assign(other, 120.0) != c1
    restored = NearDupIndex(max_distance=3, horizon_s=3600)
    restored.restore(json.loads(json.dumps(idx.snapshot())))
    assert restored.assign(fp, 180.0) == c1
    assert restored.assign(fp, 10_000.0) != c1  # past the horizon: a new cluster


def test_coordination_summary() -> None:
    obs = [Obs(0.0, "p1", "a", 0.9, FLAGGED | RISKY), Obs(10.0, "p2", "b", 0.9, FLAGGED | DUP),
           Obs(20.0, "p3", "a", 0.8, FLAGGED), Obs(5000.0, "p4", "c", 0.1, 0)]
    c = coordination(obs, sync_s=60)
    assert c.posts == 4 and c.accounts == 3
    assert c.flagged_share == 0.75 and c.risky_share == 0.25 and c.dup_share == 0.25
    assert c.sync_share == 0.75  # p1, p2, p3 are within a minute of another account's post; p4 is alone
    assert abs(c.mean_suspicion - (0.9 + 0.9 + 0.8) / 3) < 1e-9
    assert 0 < c.combined() < 1
    assert any("flagged posts" in r for r in c.reasons())
    assert coordination([]).posts == 0


def test_account_book_history_and_returns() -> None:
    book = AccountBook()
    for k in range(10):
        book.record_post("acc", text_flagged=k < 3, ts=float(k))
    st = book.get("acc")
    assert st is not None and st.history_risk() > 0.5
    book.record_post("stray", text_flagged=True, ts=0.0)
    stray = book.get("stray")
    assert stray is not None and stray.history_risk() < 0.5  # one match never makes an account high-risk
    book.suspend("acc", 100.0)
    assert not book.record_post("acc", False, 50.0).returned
    assert book.record_post("acc", False, 150.0).returned
    restored = AccountBook()
    restored.restore(json.loads(json.dumps(book.snapshot())))
    assert restored.get("acc") == book.get("acc")
    restored.record_post("quiet", False, 0.0)
    assert restored.prune() == 1 and restored.get("quiet") is None


def test_a_batch_of_fingerprints_is_each_post_s_own() -> None:
    """``simhash.many`` (one vectorised pass) gives every post the fingerprint it gets alone, short posts
    (``None``) and posts whose tokens repeat included, in a batch of mixed sizes."""
    texts = [BASE, "too short", "", f"RT @relay: {BASE} http://t.co/x1", "the the the the the cat",
             "A recipe for lentil soup with cumin lemon and plenty of fresh parsley", "one two three four"]
    fresh = [simhash(t) for t in texts]
    assert simhash.many(texts) == fresh
    assert simhash.many(texts[::-1]) == fresh[::-1]
    assert fresh[1] is None and fresh[2] is None and fresh[-1] is not None
    assert simhash.many([]) == []


def test_the_batched_view_pickles_as_its_name() -> None:
    """A worker sends views back keyed by the view: it must unpickle as the main process's very object."""
    import pickle

    assert pickle.loads(pickle.dumps(simhash)) is simhash
