"""Media known only by URL (issue #17): fetched and hashed with ``--fetch-media`` behind SSRF, allow-list,
size, time and content guards, cached by URL and content; otherwise the post carries an ``unavailable``
``media_match`` with the reason, and the scan summary counts it. A local HTTP server serves benign images."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.detector import PostContext
from bastion.media.banks.bankset import BankSet
from bastion.media.banks.model import BankConfig, BankEntry
from bastion.media.decode import MediaError
from bastion.media.detector import MediaMatchDetector
from bastion.media.fetch import FetchPolicy, MediaFetcher
from bastion.media.hashing import hash_bytes
from bastion.records import AccountId, Media, MediaId, Post, PostId

from .conftest import benign_array, encode

IMAGE = encode(benign_array(11))


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/img"):
            self._send(200, IMAGE, "image/jpeg")
        elif self.path == "/html":
            self._send(200, b"<html><body>" + b"x" * 200 + b"</body></html>", "image/jpeg")  # lies about type
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(10 ** 9))
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, IMAGE, "image/jpeg")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/img")
            self.end_headers()
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout case)
            self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def local(**kw: object) -> MediaFetcher:
    return MediaFetcher(FetchPolicy(allow_private=True, **kw))  # type: ignore[arg-type]


def code_of(fetcher: MediaFetcher, url: str) -> str:
    with pytest.raises(MediaError) as err:
        fetcher.fetch(url)
    return err.value.code


def test_fetches_media_and_refuses_what_is_not(server: str) -> None:
    f = local(timeout_s=1.0, max_bytes=1_000_000)
    assert f.fetch(f"{server}/img") == IMAGE
    assert f.fetch(f"{server}/redirect") == IMAGE
    assert code_of(f, f"{server}/html") == "unsupported_type"
    assert code_of(f, f"{server}/big") == "too_large"
    assert code_of(f, f"{server}/slow") == "timeout"
    assert code_of(f, f"{server}/missing") == "http_error"
    assert code_of(f, "file:///etc/passwd") == "bad_url"


def test_private_and_metadata_addresses_are_refused_by_default(server: str) -> None:
    f = MediaFetcher(resolver=lambda host, port: {"intranet.example": ["10.1.2.3"],
                                                  "localhost": ["127.0.0.1"]}[host])
    for url in (f"{server}/img", "http://localhost/img", "http://intranet.example/img",
                "http://169.254.169.254/latest/meta-data/", "http://[::1]/img"):
        assert code_of(f, url) == "private_address", url


def test_a_redirect_to_a_private_address_is_refused_and_the_checked_address_is_the_one_used() -> None:
    seen: list[tuple[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["host"]))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    f = MediaFetcher(resolver=lambda host, port: ["93.184.216.34"], transport=httpx.MockTransport(handle))
    assert code_of(f, "http://cdn.example/a.jpg") == "private_address"
    assert seen == [("http://93.184.216.34/a.jpg", "cdn.example")]  # pinned to the address that was checked


def test_the_host_allow_list(server: str) -> None:
    f = MediaFetcher(FetchPolicy(allow_hosts=(".media.example",), allow_private=True))
    assert code_of(f, f"{server}/img") == "blocked_host"
    assert code_of(f, "http://evil.example/x") == "blocked_host"


def test_results_are_cached_by_url_and_by_content(server: str) -> None:
    f = local()
    calls: list[int] = []

    def hash_fn(data: bytes) -> str:
        calls.append(len(data))
        return "hashed"

    assert f.hashes(f"{server}/img?a", hash_fn) == "hashed"
    assert f.hashes(f"{server}/img?a", hash_fn) == "hashed"
    assert f.fetched == 1
    assert f.hashes(f"{server}/img?b", hash_fn) == "hashed"  # same bytes, another URL: fetched, not re-hashed
    assert f.fetched == 2 and len(calls) == 1
    assert isinstance(f.hashes(f"{server}/html", hash_fn), MediaError)


def post_with(url: str) -> PostContext:
    post = Post(PostId("p1"), AccountId("a1"), "look", media=(Media(MediaId("m1"), url=url),))
    return PostContext(post)


def banked() -> BankSet:
    bs = BankSet([BankConfig("BANK")])
    pdq = hash_bytes(IMAGE).pdq
    assert pdq is not None
    bs.add_entries([BankEntry(bank="BANK", signal_type="pdq", signal=pdq.hash)])
    return bs


def test_the_detector_matches_fetched_media_and_says_why_when_it_cannot(server: str) -> None:
    fetching = MediaMatchDetector(bankset=banked(), fetch_media=True, fetch_private=True)
    [[sig]] = fetching.detect([post_with(f"{server}/img")])
    assert sig.ok and sig.value >= 0.9 and sig.details["bank"] == "BANK"
    [[sig]] = fetching.detect([post_with(f"{server}/html")])
    assert not sig.ok and "unsupported_type" in (sig.unavailable or "")
    plain = MediaMatchDetector(bankset=banked())
    [[sig]] = plain.detect([post_with(f"{server}/img")])
    assert not sig.ok and "not_fetched" in (sig.unavailable or "")
    guarded = MediaMatchDetector(bankset=banked(), fetch_media=True)
    [[sig]] = guarded.detect([post_with(f"{server}/img")])
    assert not sig.ok and "private_address" in (sig.unavailable or "")


def test_the_scan_summary_counts_media_it_could_not_hash(tmp_path: Path) -> None:
    f = tmp_path / "posts.jsonl"
    f.write_text(json.dumps({"type": "post", "id": "p1", "account_id": "a1", "text": "hello",
                             "media": [{"id": "m1", "url": "https://media.example/1.jpg"}]}) + "\n")
    r = CliRunner().invoke(app, ["scan", str(f), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--detectors", "media",
                                 "--quiet"])
    assert r.exit_code == 0, r.output
    assert "unavailable signal: media_match" in r.output
