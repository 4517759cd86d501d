"""The review UI over HTTP (the browser tests drive it in Chromium): sign-in, cookies, CSRF, escaping,
roles and personal data, media."""

from __future__ import annotations

import re
from typing import Any

from seed import World
from sqlalchemy import select

from bastion.review import wellness
from bastion.store import schema as t


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def sign_in(w: World, role: str) -> Any:
    c = w.client
    c.cookies.clear()
    page = c.get("/ui/login")
    r = c.post("/ui/login", data={"csrf": _csrf(page.text), "key": w.keys[role], "next": "/ui/"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return r


def test_sign_in_sets_a_safe_session_cookie(shared_world: World) -> None:
    c = shared_world.client
    c.cookies.clear()
    r = c.get("/ui/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    r = sign_in(shared_world, "reviewer")
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("bastion_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    home = c.get("/ui/")
    assert home.status_code == 200 and "Review queues" in home.text
    csp = home.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert home.headers["x-frame-options"] == "DENY" and home.headers["cache-control"] == "no-store"


def test_login_needs_its_csrf_cookie_and_a_person_key(shared_world: World) -> None:
    c = shared_world.client
    c.cookies.clear()
    r = c.post("/ui/login", data={"csrf": "forged", "key": shared_world.keys["reviewer"]}, follow_redirects=False)
    assert r.status_code == 403
    page = c.get("/ui/login")
    r = c.post("/ui/login", data={"csrf": _csrf(page.text), "key": shared_world.keys["integrator"]})
    assert r.status_code == 401 and "Integrator keys are for the API" in r.text
    r = c.post("/ui/login", data={"csrf": _csrf(page.text), "key": "bst_nope_nope"})
    assert r.status_code == 401
    r = c.post("/ui/login", data={"csrf": _csrf(page.text), "key": shared_world.keys["admin"],
                                  "next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/ui/", "no open redirect"


def test_forms_without_the_csrf_token_are_refused(shared_world: World) -> None:
    sign_in(shared_world, "reviewer")
    c = shared_world.client
    assert c.post("/ui/lease", data={}, follow_redirects=False).status_code == 403
    assert c.post("/ui/lease", data={"csrf": "wrong"}, follow_redirects=False).status_code == 403
    assert c.post("/ui/break", data={}).status_code == 403


def test_user_content_renders_as_text(shared_world: World) -> None:
    sign_in(shared_world, "reviewer")
    c = shared_world.client
    with shared_world.app.state.bastion.engine.connect() as conn:
        jid = conn.execute(select(t.review_jobs.c.id).where(t.review_jobs.c.subject_id == "p-remove")).scalar()
    page = c.get(f"/ui/jobs/{jid}").text
    assert "<script>window.__pwned" not in page and "onerror=\"window" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert '<mark class="span" title="org">ZZORG</mark>' in page
    assert "Somewhere" not in page, "reviewers do not see the author's location"


def test_roles_see_only_their_pages(shared_world: World) -> None:
    c = shared_world.client
    sign_in(shared_world, "reviewer")
    assert c.get("/ui/security").status_code == 403
    assert c.get("/ui/transparency").status_code == 403
    sign_in(shared_world, "security")
    assert c.get("/ui/", follow_redirects=False).headers["location"] == "/ui/security"
    page = c.get("/ui/security")
    assert page.status_code == 200
    if shared_world.extra.get("case_id"):
        assert shared_world.extra["case_id"] in page.text
        case = c.get(f"/ui/security/cases/{shared_world.extra['case_id']}")
        assert case.status_code == 200 and "viewed" in case.text  # the viewing is in the custody log
    assert c.get("/ui/appeals").status_code == 403
    sign_in(shared_world, "admin")
    page = c.get("/ui/transparency")
    assert page.status_code == 200 and "<svg" in page.text
    assert c.post("/ui/lease", data={"csrf": _csrf(page.text)}).status_code == 403  # admins do not review


def test_media_is_served_blurred_and_never_cached(shared_world: World) -> None:
    sign_in(shared_world, "reviewer")
    c = shared_world.client
    r = c.get("/ui/media/p-media/0")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "no-store" and r.content.startswith(b"\x89PNG")
    assert c.get("/ui/media/p-media/5").status_code == 404
    assert c.get("/ui/media/p-plain/0").status_code == 404
    with shared_world.app.state.bastion.engine.connect() as conn:
        jid = conn.execute(select(t.review_jobs.c.id).where(t.review_jobs.c.subject_id == "p-media")).scalar()
    page = c.get(f"/ui/jobs/{jid}").text
    assert 'class="sensitive"' in page and "click or press" in page


def test_keyboard_decision_form_and_next_job(shared_world: World) -> None:
    sign_in(shared_world, "reviewer2")
    c = shared_world.client
    home = c.get("/ui/")
    r = c.post("/ui/lease", data={"csrf": _csrf(home.text), "queue": "reports"}, follow_redirects=False)
    job_url = r.headers["location"]
    page = c.get(job_url).text
    for key in ("u", "o", "e", "j", "c"):
        assert f'data-key="{key}"' in page
    jid = job_url.rsplit("/", 1)[-1]
    r = c.post(f"/ui/jobs/{jid}/decide", data={"csrf": _csrf(page), "outcome": "overturn"}, follow_redirects=False)
    assert r.status_code == 303
    with shared_world.app.state.bastion.engine.connect() as conn:
        row = conn.execute(select(t.review_jobs).where(t.review_jobs.c.id == jid)).one()
    assert row.state == "done" and row.outcome == "overturn" and row.decided_by == "reviewer:ben"


def test_break_releases_leases_and_sign_out_ends_the_session(shared_world: World) -> None:
    sign_in(shared_world, "reviewer2")
    c = shared_world.client
    home = c.get("/ui/")
    r = c.post("/ui/lease", data={"csrf": _csrf(home.text)}, follow_redirects=False)
    jid = r.headers["location"].rsplit("/", 1)[-1]
    page = c.post("/ui/break", data={"csrf": _csrf(home.text)})
    assert page.status_code == 200 and "Take your time" in page.text
    with shared_world.app.state.bastion.engine.connect() as conn:
        assert conn.execute(select(t.review_jobs.c.state).where(t.review_jobs.c.id == jid)).scalar() == "open"
    state = shared_world.app.state.bastion
    assert wellness.today(state.engine, "reviewer:ben", state.clock()).breaks_today >= 1
    r = c.post("/ui/logout", data={"csrf": _csrf(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/ui/", follow_redirects=False).status_code == 303  # signed out


def test_an_account_job_renders(world: World) -> None:
    r = world.client.post("/v1/accounts", json={"id": "u-ev", "handle": "ev_handle", "bio": "ZZORG <i>x</i>"},
                          headers=world.h("integrator"))
    assert r.json()["verdict"] == "block"
    sign_in(world, "reviewer")
    home = world.client.get("/ui/")
    r = world.client.post("/ui/lease", data={"csrf": _csrf(home.text), "queue": "ban-evasion-qa"},
                          follow_redirects=False)
    page = world.client.get(r.headers["location"])
    assert page.status_code == 200
    assert "@ev_handle" in page.text and "&lt;i&gt;x&lt;/i&gt;" in page.text
    assert "suspended" in page.text and "ban-evasion-suspend" in page.text


def test_revoking_a_key_ends_its_ui_sessions_at_once(world: World) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from bastion.api.keys import revoke_key
    from bastion.store.api import api_keys, ui_sessions

    engine = world.app.state.bastion.engine
    c = world.client
    sign_in(world, "reviewer")
    assert c.get("/ui/", follow_redirects=False).status_code == 200
    key_id = world.keys["reviewer"].split("_")[1]
    revoke_key(engine, key_id, actor="admin:root", now=datetime.now(UTC))
    r = c.get("/ui/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    with engine.connect() as conn:
        assert all(e is not None for e in conn.execute(select(ui_sessions.c.ended_at).where(
            ui_sessions.c.key_id == key_id)).scalars())
    # a key revoked or re-roled behind the API's back (in the database) ends the session too
    sign_in(world, "reviewer2")
    assert c.get("/ui/", follow_redirects=False).status_code == 200
    other = world.keys["reviewer2"].split("_")[1]
    with engine.begin() as conn:
        conn.execute(update(api_keys).where(api_keys.c.id == other).values(role="admin"))
    assert c.get("/ui/", follow_redirects=False).status_code == 303
