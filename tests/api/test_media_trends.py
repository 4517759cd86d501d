"""The HMA-compatible media routes (hash, bank, look up) and the trends routes."""

from __future__ import annotations

import pytest
import seed
from seed import World

pytest.importorskip("bastion.media.service", reason="the media capability is not installed")


def test_hma_bank_hash_and_lookup(shared_world: World) -> None:
    c, admin, integ = shared_world.client, shared_world.h("admin"), shared_world.h("integrator")
    r = c.post("/c/banks", json={"name": "TEST_BANK", "matching_enabled_ratio": 1.0}, headers=admin)
    assert r.status_code == 201, r.text
    assert c.post("/c/banks", json={"name": "TEST_BANK"}, headers=admin).status_code == 403  # as HMA
    assert c.post("/c/banks", json={"name": "lower case"}, headers=admin).status_code == 400
    png = seed.benign_png(seed=40)
    r = c.post("/c/bank/TEST_BANK/content", files={"photo": ("a.png", png, "image/png")}, headers=admin)
    assert r.status_code == 200, r.text
    content = r.json()["id"]
    banks = c.get("/c/banks", headers=integ).json()
    assert {"name": "TEST_BANK", "matching_enabled_ratio": 1.0} in banks
    hashes = c.post("/h/hash", files={"photo": ("a.png", png, "image/png")}, headers=integ).json()
    assert set(hashes) == {"pdq"} and len(hashes["pdq"]) == 64
    raw = c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": hashes["pdq"]}, headers=integ).json()
    assert raw == {"matches": [content]}
    named = c.get("/m/lookup", params={"signal_type": "pdq", "signal": hashes["pdq"]}, headers=integ).json()
    assert named == {"TEST_BANK": [{"bank_content_id": content, "distance": "0"}]}
    by_file = c.post("/m/lookup", files={"photo": ("a.png", png, "image/png")}, headers=integ).json()
    assert by_file == {"pdq": named}
    other = c.post("/m/lookup", files={"photo": ("b.png", seed.benign_png(seed=0), "image/png")}, headers=integ)
    assert "TEST_BANK" not in other.json()["pdq"] or other.json()["pdq"]["TEST_BANK"][0]["distance"] != "0"


def test_hma_refuses_private_urls_and_bad_input(shared_world: World) -> None:
    c, integ = shared_world.client, shared_world.h("integrator")
    r = c.get("/h/hash", params={"url": "http://169.254.169.254/latest"}, headers=integ)
    assert r.status_code == 400 and r.json()["error"]["code"] == "fetch_failed"
    assert "private_address" in r.json()["error"]["message"]
    r = c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": "zz"}, headers=integ)
    assert r.status_code == 400
    r = c.get("/m/raw_lookup", params={"signal_type": "tmk", "signal": "zz"}, headers=integ)
    assert r.status_code == 400
    r = c.post("/h/hash", files={"photo": ("x.png", b"not an image", "image/png")}, headers=integ)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    r = c.post("/h/hash", files={"sound": ("x.wav", b"RIFF", "audio/wav")}, headers=integ)
    assert r.status_code == 400


def test_trends(shared_world: World) -> None:
    pytest.importorskip("bastion.campaigns.service")
    c = shared_world.client
    r = c.post("/v1/trends/filter", json={"candidates": ["campaignx", {"hashtag": "sunrise", "count": 3}]},
               headers=shared_world.h("integrator"))
    assert r.status_code == 200, r.text
    decisions = r.json()["decisions"]
    assert len(decisions) == 2 and all(d["action"] in ("allow", "suppress") for d in decisions)
    r = c.get("/v1/trends", headers=shared_world.h("reviewer"))
    assert r.status_code == 200 and "decisions" in r.json()
    assert c.post("/v1/trends/filter", json={"nope": 1}, headers=shared_world.h("integrator")).status_code == 422
