"""Hash exchanges through python-threatexchange (issue #17): ``bastion exchange add|list|fetch|status|report``
against a file collaboration and against ThreatExchange's ``threat_updates`` replayed from recorded responses
by a local server (no network). Fetches resume from the stored checkpoint, apply each change once, turn
reactions into disputes and tombstones into deletions, and write opinions back where the API allows."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.media.banks.model import Opinion
from bastion.store.db import open_engine
from bastion.store.media import MediaBankStore

pytest.importorskip("threatexchange")

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "exchanges"
TOKEN = "12345678901|" + "a" * 24


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.output


def entries(db: str, bank: str) -> dict[tuple[str, str], Any]:
    store = MediaBankStore(open_engine(db))
    return {(e.signal_type, e.signal): e for e in store.iter_entries(bank)}


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    code, out = cli("bank", "create", "COLLAB", "--db", url)
    assert code == 0, out
    return url


def test_a_file_collaboration_fetches_once_and_takes_positive_opinions(tmp_path: Path, db: str) -> None:
    f = tmp_path / "collab.txt"
    f.write_text("pdq " + "f" * 64 + "\nvideo_md5 " + "0" * 31 + "1\n")
    code, out = cli("exchange", "add", "shared-file", "--api", "file", "--bank", "COLLAB", "--set",
                    f"filename={f}", "--db", db)
    assert code == 0, out
    code, out = cli("exchange", "fetch", "shared-file", "--db", db)
    assert code == 0 and "added 2" in out, out
    code, out = cli("exchange", "fetch", "--db", db)  # every enabled collaboration; nothing new
    assert code == 0 and "added 0" in out, out
    assert set(entries(db, "COLLAB")) == {("pdq", "f" * 64), ("md5", "0" * 31 + "1")}
    code, out = cli("exchange", "report", "shared-file", "--type", "pdq", "--signal", "e" * 64, "--opinion",
                    "positive", "--db", db)
    assert code == 0, out
    assert f.read_text().splitlines()[-1] == "pdq " + "e" * 64
    code, out = cli("exchange", "report", "shared-file", "--type", "pdq", "--signal", "e" * 64, "--opinion",
                    "negative", "--db", db)
    assert code != 0 and "does not take this opinion" in out
    code, out = cli("exchange", "status", "shared-file", "--db", db)
    assert code == 0 and json.loads(out)["added"] == 2


def test_settings_are_checked_against_the_pytx_config(db: str) -> None:
    code, out = cli("exchange", "add", "te", "--api", "fb_threatexchange", "--bank", "COLLAB", "--set",
                    "privacy_grup=1", "--db", db)
    assert code != 0 and "privacy_grup" in out
    code, out = cli("exchange", "add", "x", "--api", "nope", "--bank", "COLLAB", "--db", db)
    assert code != 0 and "unknown exchange API" in out


class Recorded(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, list[str]]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        type(self).requests.append(query)
        page = "page2" if "after" in query else "page1"
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        body = (RECORDED / f"te-threat-updates-{page}.json").read_text().replace("{base}", base).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def threatexchange(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TX_ACCESS_TOKEN", TOKEN)
    Recorded.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorded)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v26.0"
    httpd.shutdown()
    httpd.server_close()


def test_threatexchange_threat_updates_replayed(db: str, threatexchange: str) -> None:
    page1 = json.loads((RECORDED / "te-threat-updates-page1.json").read_text())["data"]
    page2 = json.loads((RECORDED / "te-threat-updates-page2.json").read_text())["data"]
    code, out = cli("exchange", "add", "te", "--api", "fb_threatexchange", "--bank", "COLLAB", "--set",
                    "privacy_group=303030303", "--set", f"endpoint={threatexchange}", "--db", db)
    assert code == 0, out
    code, out = cli("exchange", "fetch", "te", "--max-changes", "1", "--db", db)  # stops after page 1
    assert code == 0 and "added 4" in out, out
    got = entries(db, "COLLAB")
    assert got[("pdq", page1[0]["indicator"])].labels.tags == ("violent_extremism",)
    assert got[("pdq", page1[1]["indicator"])].labels.opinion is Opinion.DISPUTED  # DISAGREE_WITH_TAGS
    assert ("md5", page1[2]["indicator"]) in got and ("url", "https://example.org/banked") in got
    assert json.loads(cli("exchange", "status", "te", "--db", db)[1])["checkpoint"]
    code, out = cli("exchange", "fetch", "te", "--db", db)  # resumes from the checkpoint
    assert code == 0, out
    assert Recorded.requests[0].get("start_time") is None
    assert Recorded.requests[1]["start_time"] == [str(max(r["last_updated"] for r in page1))]
    got = entries(db, "COLLAB")
    assert ("pdq", page1[0]["indicator"]) not in got  # the tombstone deleted it
    assert got[("pdq", page2[1]["indicator"])].labels.opinion is Opinion.NEGATIVE  # NON_MALICIOUS
    rows = json.loads(cli("exchange", "list", "--json", "--db", db)[1])
    assert rows[0]["removed"] == 1 and rows[0]["last_status"].startswith("ok")


def test_missing_credentials_are_one_clear_line(db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TX_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    cli("exchange", "add", "te", "--api", "fb_threatexchange", "--bank", "COLLAB", "--set",
        "privacy_group=303030303", "--db", db)
    code, out = cli("exchange", "fetch", "te", "--db", db)
    assert code != 0 and "TX_ACCESS_TOKEN" in out
    status = json.loads(cli("exchange", "status", "te", "--db", db)[1])["last_status"]
    assert status.startswith("error")


def test_serve_fetches_on_a_schedule(tmp_path: Path, db: str) -> None:
    """``bastion serve --exchange-every`` runs this scheduler: it fetches every enabled collaboration, records a
    failing one's error and goes on with the others."""
    import time

    from bastion.cli.exchanges import start_scheduler

    f = tmp_path / "collab.txt"
    f.write_text("pdq " + "f" * 64 + "\n")
    cli("exchange", "add", "a-broken", "--api", "file", "--bank", "COLLAB", "--set", f"filename={tmp_path}/no",
        "--db", db)
    cli("exchange", "add", "b-file", "--api", "file", "--bank", "COLLAB", "--set", f"filename={f}", "--db", db)
    stop = start_scheduler(db, 0.05)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = {r["name"]: r for r in json.loads(cli("exchange", "list", "--json", "--db", db)[1])}
            if rows["b-file"]["added"] == 1 and rows["a-broken"]["last_status"]:
                break
            time.sleep(0.05)
    finally:
        stop.set()
    assert rows["b-file"]["added"] == 1 and rows["b-file"]["last_status"].startswith("ok")
    assert rows["a-broken"]["last_status"].startswith("error")
