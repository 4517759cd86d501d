"""HMA 2.0 (OpenMediaMatch) on the wire (issue #17): HMA's own end-to-end workflow and bank tests replayed
against Bastion (written from their public tests, not copied), the calls ROOST Coop's HMA service makes, bank
changes matchable within seconds without a restart, and the trusted-gateway admission, off by default.
Images are generated benign pictures."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import seed
from fastapi.testclient import TestClient
from seed import World

pytest.importorskip("threatexchange")
from threatexchange.signal_type.pdq.signal import PdqSignal

from bastion.api.routes import hma
from bastion.media.banks.model import BankEntry
from bastion.store.media import MediaBankStore


def admin(w: World) -> dict[str, str]:
    return w.h("admin")


def create_bank(w: World, name: str) -> None:
    r = w.client.post("/c/banks", json={"name": name}, headers=admin(w))
    assert r.status_code == 201, r.text
    assert r.json() == {"matching_enabled_ratio": 1.0, "name": name}


def test_hma_e2e_workflow(world: World) -> None:
    """OpenMediaMatch tests/test_e2e_workflow.py: bank pytx's PDQ examples by signal, check the index, match."""
    c, h = world.client, admin(world)
    create_bank(world, "TEST_BANK")
    hashes = PdqSignal.get_examples()
    for pdq in hashes:
        assert c.post("/c/bank/TEST_BANK/signal", json={"pdq": pdq}, headers=h).status_code == 200
    r = c.get("/m/index/status?signal_type=pdq", headers=h)
    assert r.status_code == 200
    assert r.json()["pdq"]["present"] is True and r.json()["pdq"]["size"] == len(hashes)
    r = c.get(f"/m/lookup?signal_type=pdq&signal={hashes[-1]}", headers=h)
    assert r.status_code == 200
    assert r.json() == {"TEST_BANK": [{"bank_content_id": 16, "distance": "0"}]}
    r = c.get("/m/lookup?signal_type=pdq&signal={}".format("5" * 64), headers=h)
    assert r.status_code == 200 and r.json() == {}


def test_hma_bank_routes(world: World) -> None:
    """OpenMediaMatch tests/test_api_banks.py: create, validate, update, rename, delete."""
    c, h = world.client, admin(world)
    assert c.get("/c/banks", headers=h).json() == []
    assert c.post("/c/banks", json={"name": "01_TEST_BANK"}, headers=h).status_code == 400
    assert c.post("/c/banks", json={"name": "my_test_bank"}, headers=h).status_code == 400
    r = c.post("/c/banks", json={"name": "MY_TEST_BANK_01"}, headers=h)
    assert r.status_code == 201 and r.json() == {"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"}
    assert c.get("/c/banks", headers=h).json() == [r.json()]
    assert c.post("/c/banks", json={"name": "MY_TEST_BANK_01"}, headers=h).status_code == 403
    assert c.put("/c/bank/MY_TEST_BANK_01", json={"name": "1_invalid_name"}, headers=h).status_code == 400
    r = c.put("/c/bank/MY_TEST_BANK_01", json={"name": "MY_TEST_BANK_RENAMED"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "MY_TEST_BANK_RENAMED"
    r = c.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled": False}, headers=h)
    assert r.status_code == 200 and r.json()["matching_enabled_ratio"] == 0
    r = c.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled_ratio": 0.5}, headers=h)
    assert r.status_code == 200 and r.json()["matching_enabled_ratio"] == 0.5
    assert c.get("/c/banks", headers=h).json() == [{"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.5}]
    assert c.put("/c/bank/NO_SUCH_BANK", json={"enabled": True}, headers=h).status_code == 404
    assert c.get("/c/bank/NO_SUCH_BANK", headers=h).status_code == 404
    assert c.delete("/c/bank/MY_TEST_BANK_RENAMED", headers=h).status_code == 200
    r = c.delete("/c/bank/MY_TEST_BANK_RENAMED", headers=h)  # deleting a missing bank succeeds
    assert r.status_code == 200 and r.json() == {"message": "Done"}


def test_hma_bank_content_routes(world: World) -> None:
    c, h = world.client, admin(world)
    png = seed.benign_png(seed=41)
    assert c.get("/c/bank/TEST_BANK_GET/content/1", headers=h).status_code == 404  # no bank
    create_bank(world, "TEST_BANK_GET")
    assert c.get("/c/bank/TEST_BANK_GET/content/1", headers=h).status_code == 404  # no content
    pdq = c.post("/h/hash", files={"photo": ("a.png", png, "image/png")}, headers=h).json()
    assert set(pdq) == {"pdq"}
    r = c.post("/c/bank/TEST_BANK_GET/content", files={"photo": ("a.png", png, "image/png")}, headers=h)
    assert r.status_code == 200 and r.json() == {"id": 1, "signals": {"pdq": pdq["pdq"]}}
    r = c.get("/c/bank/TEST_BANK_GET/content/1?include_signals=true", headers=h)
    assert r.status_code == 200
    assert r.json() == {"id": 1, "disable_until_ts": 0, "original_media_uri": None,
                        "bank": {"name": "TEST_BANK_GET", "matching_enabled_ratio": 1.0},
                        "signals": {"pdq": pdq["pdq"]}}
    until = int((datetime.now() + timedelta(days=365)).timestamp())
    r = c.put("/c/bank/TEST_BANK_GET/content/1", json={"disable_until_ts": until}, headers=h)
    assert r.status_code == 200 and r.json()["disable_until_ts"] == until
    assert c.get(f"/m/lookup?signal_type=pdq&signal={pdq['pdq']}", headers=h).json() == {}  # disabled
    raw = c.get(f"/m/raw_lookup?signal_type=pdq&signal={pdq['pdq']}&include_distance=true", headers=h).json()
    assert raw == {"matches": []}
    assert c.put("/c/bank/TEST_BANK_GET/content/1", json={"disable_until_ts": 9999999999},
                 headers=h).status_code == 400
    assert c.put("/c/bank/TEST_BANK_GET/content/1", json={"disable_until_ts": 0}, headers=h).status_code == 200
    raw = c.get(f"/m/raw_lookup?signal_type=pdq&signal={pdq['pdq']}&include_distance=true", headers=h).json()
    assert raw == {"matches": [{"bank_content_id": 1, "distance": "0"}]}
    assert c.get(f"/m/raw_lookup?signal_type=pdq&signal={pdq['pdq']}", headers=h).json() == {"matches": [1]}
    assert c.get(f"/m/raw_lookup?signal_type=pdq&signal={pdq['pdq']}&banks=OTHER", headers=h).json() == {
        "matches": []}
    r = c.post("/c/bank/TEST_BANK_GET/content", json={"metadata": {"invalid_metadata": 5}}, headers=h)
    assert r.status_code == 400
    r = c.post("/c/bank/TEST_BANK_GET/signal", json={"pdq": "0" * 64, "note": "x" * 256}, headers=h)
    assert r.status_code == 400
    r = c.post("/c/bank/TEST_BANK_GET/content", headers=h,
               files={"photo": ("b.png", seed.benign_png(seed=3), "image/png")},
               data={"metadata": '{"content_id": "c-9", "content_uri": "https://example.org/9", '
                                 '"json": {"k": 1}}', "note": "banked by review"})
    assert r.status_code == 200, r.text
    got = c.get(f"/c/bank/TEST_BANK_GET/content/{r.json()['id']}", headers=h).json()
    assert got["metadata"] == {"content_id": "c-9", "content_uri": "https://example.org/9", "json": {"k": 1}}
    assert got["note"] == "banked by review"
    r = c.delete("/c/bank/TEST_BANK_GET/content/1", headers=h)
    assert r.status_code == 200 and r.json() == {"deleted": 1}
    assert c.delete("/c/bank/TEST_BANK_GET/content/1", headers=h).json() == {"deleted": 0}


def test_every_hma_signal_type_banks_and_matches(world: World) -> None:
    c, h = world.client, admin(world)
    create_bank(world, "EXACT")
    signals = {"video_md5": "0" * 31 + "1", "video_sha256": "ab" * 32, "url": "https://example.org/banked",
               "url_md5": "1" * 32, "raw_text": "some banked text"}
    r = c.post("/c/bank/EXACT/signal", json=signals, headers=h)
    assert r.status_code == 200 and set(r.json()["signals"]) == set(signals)
    content = r.json()["id"]
    for st, sig in signals.items():
        assert c.get("/m/lookup", params={"signal_type": st, "signal": sig}, headers=h).json() == {
            "EXACT": [{"bank_content_id": content, "distance": "0"}]}, st
    assert c.post("/c/bank/EXACT/signal", json={"tmk": "x"}, headers=h).status_code == 400
    assert c.post("/c/bank/EXACT/signal", json={"pdq": "nothex"}, headers=h).status_code == 400
    names = [s["name"] for s in c.get("/c/signal_type", headers=h).json()]
    assert {"pdq", "video_md5", "video_sha256", "url", "url_md5", "raw_text"} <= set(names)
    assert c.get("/c/content_type", headers=h).json() == [{"name": "photo", "enabled": True},
                                                          {"name": "video", "enabled": True}]


def test_compare_status_and_site_map(world: World) -> None:
    c, h = world.client, admin(world)
    a = "f" * 64
    b = "f" * 63 + "0"
    assert c.post("/m/compare", json={"pdq": [a, b]}, headers=h).json() == {"pdq": [True, {"distance": 4}]}
    assert c.post("/m/compare", json={"pdq": [a]}, headers=h).status_code == 400
    assert c.post("/m/compare", json={"pdq": [a, "zz"]}, headers=h).status_code == 400
    assert c.get("/status").text == "I-AM-ALIVE" and c.get("/status/live").status_code == 200
    routes = c.get("/site-map", headers=h).json()
    assert {"/m/lookup", "/c/bank/{bank_name}/content/{content_id}", "/status"} <= set(routes)


def test_a_hash_banked_by_another_process_matches_without_a_restart(world: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    c, h = world.client, admin(world)
    create_bank(world, "LIVE")
    signal = "e" * 64
    assert c.get(f"/m/lookup?signal_type=pdq&signal={signal}", headers=h).json() == {}
    monkeypatch.setattr(hma, "RELOAD_CHECK_S", 0.0)
    MediaBankStore(world.app.state.bastion.engine).add_entries([BankEntry("LIVE", "pdq", signal)])  # a CLI import
    r = c.get(f"/m/lookup?signal_type=pdq&signal={signal}", headers=h).json()
    assert list(r) == ["LIVE"]


def test_coop_style_client(world: World, tmp_path: Any) -> None:
    """The calls ROOST Coop's hmaService makes: its request shapes (a string enabled_ratio, multipart
    content with content_id / content_uri / metadata / note fields, exchanges) and what it reads back."""
    c, h = world.client, admin(world)
    r = c.post("/c/banks", json={"name": "COOP_ORG1_TERROR", "enabled_ratio": "0.5"}, headers=h)
    assert r.status_code == 201 and r.json()["matching_enabled_ratio"] == 0.5
    r = c.put("/c/bank/COOP_ORG1_TERROR", json={"enabled_ratio": 1.0}, headers=h)
    assert r.status_code == 200
    assert c.get("/c/bank/COOP_ORG1_TERROR", headers=h).status_code == 200
    assert c.get("/c/bank/COOP_ORG1_MISSING", headers=h).status_code == 404
    png = seed.benign_png(seed=77)
    r = c.post("/c/bank/COOP_ORG1_TERROR/content", headers=h, files={"photo": ("x.png", png, "image/png")},
               data={"content_id": "coop-1", "content_uri": "https://coop.example/1", "note": "from coop"})
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body["id"], int) and set(body["signals"]) == {"pdq"}
    matches = c.get("/m/lookup", params={"signal_type": "pdq", "signal": body["signals"]["pdq"]}, headers=h).json()
    assert matches["COOP_ORG1_TERROR"][0]["bank_content_id"] == body["id"]
    f = tmp_path / "collab.txt"
    f.write_text("pdq " + "d" * 64 + "\n")
    r = c.post("/c/exchanges", headers=h, json={"bank": "COOP_ORG1_SHARED", "api": "file",
                                                "api_json": {"filename": str(f)}})
    assert r.status_code == 201, r.text
    assert "COOP_ORG1_SHARED" in c.get("/c/exchanges", headers=h).json()
    assert "fb_threatexchange" in c.get("/c/exchanges/apis", headers=h).json()
    info = c.get("/c/exchange/COOP_ORG1_SHARED", headers=h).json()
    assert info["api"] == "file" and info["enabled"] is True
    status = c.get("/c/exchange/COOP_ORG1_SHARED/status", headers=h).json()
    assert set(status) >= {"last_fetch_succeeded", "last_fetch_complete_ts", "up_to_date", "fetched_items",
                           "running_fetch_start_ts"}
    assert c.get("/c/exchange/NOPE/status", headers=h).status_code == 404
    assert c.delete("/c/bank/COOP_ORG1_TERROR", headers=h).status_code == 200


class Images(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = seed.benign_png(seed=5)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def image_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_urls_are_fetched_behind_the_ssrf_guard(db_url: str, image_server: str) -> None:
    guarded = seed.build(db_url, webhook=False)
    try:
        r = guarded.client.get("/h/hash", params={"url": f"{image_server}/a.png"}, headers=guarded.h("integrator"))
        assert r.status_code == 400 and "private_address" in r.json()["error"]["message"]
    finally:
        guarded.client.close()
    internal = seed.build(db_url, webhook=False, media_fetch_private=True)  # an internal media CDN, allowed
    try:
        h = internal.h("admin")
        r = internal.client.get("/h/hash", params={"url": f"{image_server}/a.png"}, headers=h)
        assert r.status_code == 200 and set(r.json()) == {"pdq"}
        internal.client.post("/c/banks", json={"name": "BY_URL"}, headers=h)
        r = internal.client.post(f"/c/bank/BY_URL/content?url={image_server}/a.png&content_type=photo", headers=h)
        assert r.status_code == 200 and r.json()["signals"] == {"pdq": r.json()["signals"]["pdq"]}
        r = internal.client.get("/m/lookup", params={"url": f"{image_server}/a.png"}, headers=h)
        assert list(r.json()["pdq"]) == ["BY_URL"]
    finally:
        internal.client.close()


def test_trusted_gateway_admission_is_off_by_default_and_scoped(db_url: str) -> None:
    query = "/m/lookup?signal_type=pdq&signal=" + "5" * 64
    w = seed.build(db_url, webhook=False)
    try:
        assert TestClient(w.app, client=("10.1.2.3", 5000)).get(query).status_code == 401
    finally:
        w.client.close()
    w = seed.build(db_url, webhook=False, hma_trusted_networks=("10.0.0.0/8",),
                   hma_trusted_header=("X-HMA-Gateway", "s3cret-s3cret-s3cret"))
    try:
        inside = TestClient(w.app, client=("10.1.2.3", 5000))
        outside = TestClient(w.app, client=("192.0.2.7", 5000))
        good = {"X-HMA-Gateway": "s3cret-s3cret-s3cret"}
        assert inside.get(query, headers=good).status_code == 200
        assert inside.get(query).status_code == 401  # both conditions configured: both must hold
        assert inside.get(query, headers={"X-HMA-Gateway": "wrong"}).status_code == 401
        assert outside.get(query, headers=good).status_code == 401
        assert inside.post("/c/banks", json={"name": "X"}, headers=good).status_code == 403  # integrator role
        assert inside.get("/v1/review/queues", headers=good).status_code == 401  # HMA routes only
    finally:
        w.client.close()
    w = seed.build(db_url, webhook=False, hma_trusted_networks=("10.0.0.0/8",), hma_trusted_role="admin")
    try:
        inside = TestClient(w.app, client=("10.9.9.9", 5000))
        assert inside.post("/c/banks", json={"name": "FROM_GATEWAY"}).status_code == 201
    finally:
        w.client.close()
