"""The service functions behind the HMA-compatible endpoints."""

from __future__ import annotations

import pytest

from bastion.errors import InputError
from bastion.media import service
from bastion.media.banks.bankset import BankSet
from bastion.media.banks.model import BankConfig, BankEntry, EntryLabels
from bastion.media.decode import MediaError
from bastion.media.hashing import hash_bytes

from .conftest import benign_array, encode


@pytest.fixture
def setup() -> tuple[BankSet, bytes]:
    data = encode(benign_array(31))
    h = hash_bytes(data)
    assert h.pdq is not None
    bs = BankSet([BankConfig("terror"), BankConfig("rollout", enabled_ratio=0.0)])
    bs.add_entries([BankEntry("terror", "pdq", h.pdq.hash, EntryLabels(entity="OrgA")),
                    BankEntry("rollout", "md5", h.md5)])
    return bs, data


def test_hash_endpoint(setup: tuple[BankSet, bytes]) -> None:
    _, data = setup
    out = service.hash_content(data, content_type="photo")
    assert set(out) == {"pdq", "md5", "sha256"}
    assert set(service.hash_content(data, types=["pdq"])) == {"pdq"}
    with pytest.raises(InputError):
        service.hash_content(data, content_type="text")
    with pytest.raises(MediaError):
        service.hash_content(b"garbage bytes")


def test_raw_lookup_and_lookup(setup: tuple[BankSet, bytes]) -> None:
    """HMA 2.0's answers: content ids, ``{bank: [{"bank_content_id", "distance"}]}``, the coin flip."""
    bs, data = setup
    sig = service.hash_content(data)
    assert service.hma_raw_lookup(bs, sig["pdq"], "pdq") == {"matches": [1]}
    assert service.hma_raw_lookup(bs, sig["pdq"], "pdq", include_distance=True) == {
        "matches": [{"bank_content_id": 1, "distance": "0"}]}
    assert service.hma_raw_lookup(bs, sig["md5"], "video_md5") == {"matches": [2]}  # every bank, no coin
    assert service.hma_lookup(bs, sig["pdq"], "pdq") == {"terror": [{"bank_content_id": 1, "distance": "0"}]}
    assert service.hma_lookup(bs, sig["md5"], "video_md5") == {}  # enabled_ratio 0
    assert service.hma_lookup(bs, sig["md5"], "video_md5", bypass_coinflip=True) == {
        "rollout": [{"bank_content_id": 2, "distance": "0"}]}
    assert service.hma_hash(data, "photo") == {"pdq": sig["pdq"]}
    with pytest.raises(InputError):
        service.hma_raw_lookup(bs, "xyz", "pdq")
    with pytest.raises(InputError):
        service.hma_lookup(bs, "0" * 64, "tmk")


def test_banks_and_rich_match(setup: tuple[BankSet, bytes]) -> None:
    bs, data = setup
    banks = service.list_banks(bs)
    assert [b["name"] for b in banks] == ["rollout", "terror"]
    assert banks[0]["matching_enabled_ratio"] == 0.0 and banks[1]["counts"] == {"pdq": 1}
    rich = service.match_content(bs, data)
    assert rich["matches"][0]["bank"] == "terror" and rich["matches"][0]["labels"] == ["entity:OrgA"]
    assert rich["hashes"]["kind"] == "image"
    assert service.match_signal(bs, rich["hashes"]["pdq"], "pdq")["matches"][0]["entry"] == 1
