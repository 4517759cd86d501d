"""End to end in headless Chromium (Debian's ``chromium``, driven by Playwright; no browser download).

A reviewer signs in, works the queue with the keyboard (two keystrokes per decision), reveals a blurred
image and decides; an appeal is overturned and the removal reversed; a security case is exported. The run
saves screenshots of the main pages under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
import seed

from bastion.store import schema as t

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium): browser tests skipped",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, seed.World]]:
    import uvicorn

    db = tmp_path_factory.mktemp("browser") / "bastion.db"
    world = seed.build(f"sqlite:///{db}")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning",
                                       lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", world
    srv.should_exit = True
    thread.join(timeout=10)
    world.client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _page(browser: Any, base: str, key: str) -> Any:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    page.goto(f"{base}/ui/")
    assert "/ui/login" in page.url
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _row(world: seed.World, table: Any, **where: str) -> Any:
    with world.app.state.bastion.engine.connect() as conn:
        stmt = select(table)
        for k, v in where.items():
            stmt = stmt.where(table.c[k] == v)
        return conn.execute(stmt).one()


def test_reviewer_works_the_queue_with_the_keyboard(server: tuple[str, seed.World], browser: Any) -> None:
    base, world = server
    page = _page(browser, base, world.keys["reviewer"])
    assert page.locator("h1").first.inner_text() == "Review queues"
    first_row = page.locator("#queue-table tbody tr").first
    assert "removal-orders" in first_row.inner_text(), "the removal order jumps the queue"
    _shot(page, "01-queues")

    page.click("text=Start reviewing")
    page.wait_for_url("**/ui/jobs/*")
    assert "removal-orders" in page.locator("h1").inner_text()
    first_job = page.url.rsplit("/", 1)[-1]
    _shot(page, "02-job-removal-order")
    page.keyboard.press("u")  # keystroke one: choose "violates"
    assert "press Enter to confirm" in page.locator(".hint").inner_text()
    page.keyboard.press("Enter")  # keystroke two: confirm; the next job opens by itself
    page.wait_for_url(lambda url: first_job not in url)
    job = _row(world, t.review_jobs, id=first_job)
    assert job.state == "done" and job.outcome == "uphold" and job.decided_by == "reviewer:ana"
    assert _row(world, t.posts, id="p-ordered").removed_at is not None

    # work down the queue with the keyboard until the post with the image comes up
    for _ in range(8):
        if page.locator("figure.media").count():
            break
        current = page.url.rsplit("/", 1)[-1]
        page.keyboard.press("o")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url, c=current: c not in url)
    fig = page.locator("figure.media").first
    img = fig.locator("img.sensitive")
    assert "blur" in img.evaluate("e => getComputedStyle(e).filter")
    assert "grayscale" in img.evaluate("e => getComputedStyle(e).filter")
    _shot(page, "03-job-media-blurred")
    assert page.locator("#exposure").inner_text().startswith(page.locator("#exposure b").first.inner_text())
    fig.locator("button.reveal").click()
    page.wait_for_function("() => getComputedStyle(document.querySelector('img.sensitive')).filter === 'none'")
    page.wait_for_function("() => document.querySelector('#exposure').innerText.includes('1 media revealed')")
    assert img.evaluate("e => e.naturalWidth") == 320, "the image itself loaded"
    _shot(page, "04-job-media-revealed")
    media_job = page.url.rsplit("/", 1)[-1]
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: media_job not in url)
    assert _row(world, t.review_jobs, id=media_job).outcome == "journalism"
    assert page.evaluate("() => window.__pwned") is None, "user content never ran as script"
    assert not [e for e in page.errors if "Content Security Policy" in e or "Uncaught" in e], page.errors


def test_appeal_is_overturned_and_the_removal_reversed(server: tuple[str, seed.World], browser: Any) -> None:
    base, world = server
    assert _row(world, t.posts, id="p-remove").removed_at is not None  # removed automatically
    r = world.client.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-remove",
                                               "appellant_id": "u-alpha", "reason": "I was quoting the news."},
                          headers=world.h("integrator"))
    assert r.status_code == 201
    appeal_id = r.json()["id"]
    page = _page(browser, base, world.keys["reviewer2"])
    page.click("nav >> text=Appeals")
    page.wait_for_url("**/ui/appeals")
    _shot(page, "05-appeals")
    page.click("text=Review the oldest appeal")
    page.wait_for_url(f"**/ui/appeals/{appeal_id}")
    assert "I was quoting the news." in page.inner_text("body")
    _shot(page, "06-appeal")
    page.keyboard.press("o")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/appeals?msg=*")
    assert "reversed" in page.locator(".flash").inner_text()
    assert _row(world, t.posts, id="p-remove").removed_at is None
    led = _row(world, t.ledger, target_id="p-remove", action="remove_post")
    assert led.reversed_at is not None and led.reversed_by == "reviewer:ben"
    hook = _row(world, t.webhook_outbox, decision_id=appeal_id)
    assert '"outcome":"overturned"' in hook.payload and hook.state == "pending"


def test_security_case_is_exported(server: tuple[str, seed.World], browser: Any) -> None:
    base, world = server
    case_id = world.extra.get("case_id")
    if case_id is None:
        pytest.skip("the threats capability (security cases) is not installed")
    page = _page(browser, base, world.keys["security"])
    assert page.url.endswith("/ui/security")
    _shot(page, "07-security-queue")
    page.click(f"text={case_id}")
    page.wait_for_url(f"**/ui/security/cases/{case_id}")
    _shot(page, "08-security-case")
    with page.expect_download() as info:
        page.click("#export-case")
    data = Path(info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    assert f"{case_id}/package.json" in names and f"{case_id}/custody.jsonl" in names
    assert any("/blobs/" in n for n in names)
    with world.app.state.bastion.engine.connect() as conn:
        events = [r[0] for r in conn.execute(select(t.audit_log.c.event)
                                             .where(t.audit_log.c.subject == f"case:{case_id}"))]
    assert "case.export" in events


def test_admin_transparency_page(server: tuple[str, seed.World], browser: Any) -> None:
    base, world = server
    page = _page(browser, base, world.keys["admin"])
    page.click("nav >> text=Transparency")
    page.wait_for_url("**/ui/transparency")
    assert page.locator("svg.chart").count() >= 3
    _shot(page, "09-transparency")
    page.goto(f"{base}/ui/")
    _shot(page, "10-admin-overview")
