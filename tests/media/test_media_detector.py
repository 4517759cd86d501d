"""The media detector in the pipeline's terms: posts and avatars in, ``media_match`` signals out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from bastion.catalogue import build
from bastion.detector import PostContext
from bastion.media.banks.bankset import BankSet
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, EntryStatus, Opinion
from bastion.media.detector import MediaMatchDetector
from bastion.media.formats import write_bank
from bastion.media.hashing import hash_file
from bastion.records import Account, AccountId, Media, MediaId, Post, PostId

from .conftest import benign_array, encode


def _post(i: int, *media: Media, when: datetime | None = None) -> PostContext:
    return PostContext(Post(PostId(f"p{i}"), AccountId("a1"), "text", created_at=when, media=media))


def _banked(tmp_path: Path) -> tuple[BankSet, Path, Path]:
    """A bank holding one benign stand-in image; returns it, a re-encoded resized copy and a stranger."""
    arr = benign_array(21)
    (tmp_path / "orig.jpg").write_bytes(encode(arr, quality=95))
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(encode(np.asarray(Image.fromarray(arr).resize((200, 150))), quality=50))
    other = tmp_path / "other.png"
    other.write_bytes(encode(benign_array(22), "PNG"))
    h = hash_file(tmp_path / "orig.jpg")
    bs = BankSet([BankConfig("terror")])
    bs.add_entries([BankEntry("terror", "pdq", h.pdq.hash if h.pdq else "",
                              EntryLabels(entity="OrgA", behaviour="glorification_of_acts", source="test"))])
    return bs, copy, other


def test_registry_builds_with_defaults() -> None:
    (det,) = build(["media"])
    assert isinstance(det, MediaMatchDetector) and det.bankset.banks == {}
    assert det.get_params()["db_url"] is None


def test_post_media_matches_bank(tmp_path: Path) -> None:
    bs, copy, other = _banked(tmp_path)
    det = MediaMatchDetector(bankset=bs)
    out = det.detect([_post(1, Media(MediaId("m1"), path=str(copy))),
                      _post(2, Media(MediaId("m2"), path=str(other))),
                      _post(3),
                      _post(4, Media(MediaId("m4"), path=str(tmp_path / "missing.jpg")))])
    hit = out[0][0]
    assert hit.name == "media_match" and hit.value >= 0.9
    assert hit.details["bank"] == "terror" and hit.details["entry"] == 1
    assert 0 < hit.details["distance"] <= 31
    assert "entity:OrgA" in hit.details["labels"] and "bank:terror" in hit.labels
    assert out[1][0].value == 0.0 and out[1][0].ok
    assert out[2] == []
    assert not out[3][0].ok and "not_found" in (out[3][0].unavailable or "")
    json.dumps(hit.to_json())  # details are JSON-serialisable


def test_precomputed_hashes_and_disputed_entries(tmp_path: Path) -> None:
    bs = BankSet([BankConfig("b")])
    bs.add_entries([BankEntry("b", "md5", "1" * 32, EntryLabels(opinion=Opinion.DISPUTED))])
    det = MediaMatchDetector(bankset=bs)
    sig = det.detect([_post(1, Media(MediaId("m"), md5="1" * 32))])[0][0]
    assert sig.value == 0.5  # a person looks before anything is removed


def test_avatar(tmp_path: Path) -> None:
    bs, copy, _ = _banked(tmp_path)
    det = MediaMatchDetector(bankset=bs)
    acc = Account(AccountId("a1"), "handle", avatar=Media(MediaId("av"), path=str(copy)))
    sigs = det.detect_accounts([acc, Account(AccountId("a2"), "h2")])
    assert sigs[0][0].value >= 0.9 and sigs[1] == []


def test_flood_quarantine_snapshot_restore(tmp_path: Path) -> None:
    bs = BankSet([BankConfig("b", flood_limit=2, flood_window_s=3600)])
    bs.add_entries([BankEntry("b", "pdq", "0" * 64)])
    det = MediaMatchDetector(bankset=bs)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    posts = [_post(i, Media(MediaId(f"m{i}"), pdq=f"{(1 << (i * 3)):064x}", sha256=f"{i:064x}"), when=t0)
             for i in range(4)]
    sigs = [s[0] for s in det.detect(posts)]
    assert [s.value > 0.9 for s in sigs] == [True, True, False, False]
    assert "flood_quarantine" in sigs[2].labels and sigs[2].details["flood"][0]["entry"] == 1
    assert [e.entry_id for e in det.take_flood_events()] == [1] and det.take_flood_events() == []
    state = det.snapshot()
    assert state is not None
    fresh = BankSet([BankConfig("b", flood_limit=2)])
    fresh.add_entries([BankEntry("b", "pdq", "0" * 64)])
    det2 = MediaMatchDetector(bankset=fresh)
    det2.restore(state)
    assert fresh.entries[1].status is EntryStatus.QUARANTINED
    replay = _post(9, Media(MediaId("m9"), pdq="0" * 64, sha256="9" * 64))
    replay.replay = True
    assert det2.detect([replay])[0][0].value == 0.0


def test_bank_files_and_database(tmp_path: Path, sqlite_url: str) -> None:
    bs, copy, _ = _banked(tmp_path)
    f = tmp_path / "bank.jsonl"
    write_bank(f, "bastion", bs.banks["terror"], list(bs.entries.values()))
    det = MediaMatchDetector(bank_files=[str(f)])
    assert det.detect([_post(1, Media(MediaId("m"), path=str(copy)))])[0][0].value >= 0.9

    from bastion.store.db import open_engine
    from bastion.store.media import MediaBankStore

    store = MediaBankStore(open_engine(sqlite_url))
    store.create_bank(bs.banks["terror"])
    store.add_entries([e for e in bs.entries.values()])
    det_db = MediaMatchDetector(db_url=sqlite_url)
    assert det_db.detect([_post(1, Media(MediaId("m"), path=str(copy)))])[0][0].details["bank"] == "terror"
