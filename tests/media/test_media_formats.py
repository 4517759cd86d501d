"""Bank file formats: round trips, the fields each exchange carries, malformed records skipped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion.errors import ConfigError, InputError
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels, Opinion
from bastion.media.formats import read_bank, write_bank

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
VPDQ = json.dumps([f"{PDQ},100,0.000", f"{PDQ},90,1.000"], separators=(",", ":"))


def _entries(bank: str) -> list[BankEntry]:
    t = datetime(2024, 5, 1, tzinfo=UTC)
    return [
        BankEntry(bank, "pdq", PDQ, EntryLabels(entity="OrgA", behaviour="glorification_of_acts", source="gifct",
                                                confidence=0.8, tags=("ideology:example",)), external_id="17",
                  added_at=t),
        BankEntry(bank, "md5", "d35c785545392755e7e4164457657269", EntryLabels(opinion=Opinion.DISPUTED),
                  added_at=t),
        BankEntry(bank, "sha256", "b" * 64, added_at=t),
        BankEntry(bank, "vpdq", VPDQ, added_at=t),
    ]


def test_native_round_trip_is_lossless(tmp_path: Path) -> None:
    cfg = BankConfig("b1", negative=True, pdq_threshold=20, enabled_ratio=0.5, description="x")
    p = tmp_path / "b.jsonl"
    write_bank(p, "bastion", cfg, _entries("b1"))
    back = read_bank(p, "bastion", "")
    assert back.config == cfg
    assert back.entries == _entries("b1") and not back.skipped
    renamed = read_bank(p, "bastion", "other")
    assert renamed.config is not None and renamed.config.name == "other"
    assert {e.bank for e in renamed.entries} == {"other"}


def test_threatexchange_round_trip_and_opinions(tmp_path: Path) -> None:
    p = tmp_path / "te.json"
    write_bank(p, "te", BankConfig("b"), _entries("b"))
    back = read_bank(p, "te", "b")
    by_type = {e.signal_type: e for e in back.entries}
    assert set(by_type) == {"pdq", "md5", "sha256", "vpdq"}
    assert by_type["pdq"].labels.entity == "OrgA" and by_type["pdq"].labels.confidence == 0.8
    assert by_type["pdq"].labels.behaviour == "glorification_of_acts"
    assert "ideology:example" in by_type["pdq"].labels.tags
    assert by_type["md5"].labels.opinion is Opinion.DISPUTED
    assert by_type["pdq"].external_id == "17"
    raw = {"data": [
        {"id": "1", "indicator": PDQ, "type": "HASH_PDQ", "should_delete": False,
         "descriptors": {"data": [{"status": "NON_MALICIOUS", "tags": ["t"], "added_on": "2020-01-01T00:00:00+0000"}]}},
        {"id": "2", "indicator": "0" * 32, "type": "HASH_MD5", "should_delete": True},
        {"id": "3", "indicator": "x", "type": "HASH_TMK", "descriptors": {"data": []}},
        {"id": "4", "indicator": "zz", "type": "HASH_PDQ", "descriptors": {"data": []}},
    ]}
    p.write_text(json.dumps(raw))
    got = read_bank(p, "te", "b")
    assert len(got.entries) == 1 and got.entries[0].labels.opinion is Opinion.NEGATIVE
    assert got.entries[0].added_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert got.deleted == [("md5", "0" * 32)]
    assert len(got.skipped) == 2


def test_hma_signal_file(tmp_path: Path) -> None:
    p = tmp_path / "hma.txt"
    res = write_bank(p, "hma", BankConfig("b"), _entries("b"))
    assert res.written == 4 and res.skipped == 0  # pytx names SHA-256 video_sha256
    text = p.read_text()
    assert f"pdq {PDQ}" in text and "video_md5 d35c" in text
    p.write_text(text + "# comment\n\nbogus line\npdq nothex\n")
    back = read_bank(p, "hma", "b")
    assert {e.signal_type for e in back.entries} == {"pdq", "md5", "sha256", "vpdq"}
    assert len(back.skipped) == 2


def test_tat_hash_list(tmp_path: Path) -> None:
    page = {"count": 3, "next": None, "previous": None, "checkpoint": "1704085200,124", "results": [
        {"id": 1, "hash_digest": PDQ, "algorithm": "PDQ", "ideology": "islamist", "file_type": "jpg",
         "deleted": False, "updated_on": 1704085200.0, "created_on": "2024-01-01T05:00:00Z"},
        {"id": 2, "hash_digest": "0" * 32, "algorithm": "MD5", "ideology": "far-right", "file_type": "mp4",
         "deleted": True, "updated_on": 1704085200.0, "created_on": "2024-01-01T05:00:00Z"},
        {"id": 3, "hash_digest": "short", "algorithm": "MD5", "deleted": False},
    ]}
    p = tmp_path / "tat.json"
    p.write_text(json.dumps(page))
    got = read_bank(p, "tat", "tat")
    assert [e.signal for e in got.entries] == [PDQ]
    e = got.entries[0]
    assert e.labels.source == "tat" and "ideology:islamist" in e.labels.tags and e.external_id == "1"
    assert got.deleted == [("md5", "0" * 32)] and len(got.skipped) == 1
    out = tmp_path / "out.json"
    assert write_bank(out, "tat", BankConfig("tat"), got.entries).written == 1
    again = read_bank(out, "tat", "tat")
    assert again.entries[0].signal == PDQ and "ideology:islamist" in again.entries[0].labels.tags


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read_bank(tmp_path / "x", "no-such-format", "b")
    with pytest.raises(InputError):
        read_bank(tmp_path / "missing.json", "te", "b")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"signal_type": "pdq", "signal": "00"}\n')
    with pytest.raises(InputError):
        read_bank(bad, "bastion", "")  # no header, no bank name
    assert len(read_bank(bad, "bastion", "b").skipped) == 1
