"""Appeal independence by key identity, and bounded refiling (issue #16): a key's name is not who it is, and
a decided appeal is not refiled at once nor without end. Every human decision records its key
(``review_decisions.key_id``), over the API and the UI alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from seed import World
from sqlalchemy import select

from bastion.api.keys import create_key
from bastion.review import appeals, decide, queues
from bastion.review import enforce as fx
from bastion.review.model import ReviewError
from bastion.store import schema as t
from bastion.store.api import appeals as appeal_rows
from bastion.store.api import review_decisions


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self, world: World) -> None:
        self.now = datetime.now(UTC) + timedelta(minutes=1)
        world.app.state.bastion.clock = lambda: self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def second_ana(world: World) -> tuple[str, dict[str, str]]:
    """Another reviewer key with the same name as ``reviewer`` (ana), held by someone else: (id, headers)."""
    key_id, key = create_key(world.app.state.bastion.engine, "reviewer", name="ana", now=datetime.now(UTC))
    world.extra["second_ana"] = key
    return key_id, {"Authorization": f"Bearer {key}"}


def key_id_of(world: World, role: str) -> str:
    return world.keys[role].removeprefix("bst_").split("_", 1)[0]


def decision_keys(world: World, subject_id: str) -> list[tuple[str | None, str | None]]:
    """(appeal id, key id) of the human decisions on a subject, oldest first (job decisions: appeal id None)."""
    R = review_decisions
    with world.app.state.bastion.engine.connect() as conn:
        rows = conn.execute(select(R.c.appeal_id, R.c.key_id).where(R.c.subject_id == subject_id)
                            .order_by(R.c.created_at, R.c.appeal_id.is_not(None))).all()
    return [(r.appeal_id, r.key_id) for r in rows]


def job_id_for(world: World, subject_id: str) -> str:
    with world.app.state.bastion.engine.connect() as conn:
        return str(conn.execute(select(t.review_jobs.c.id).where(t.review_jobs.c.subject_id == subject_id))
                   .scalar_one())


def ui_sign_in(world: World, key: str) -> str:
    """Sign in to the UI with ``key``; returns the session's CSRF token."""
    c = world.client
    c.cookies.clear()
    m = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/login").text)
    assert m
    r = c.post("/ui/login", data={"csrf": m[1], "key": key, "next": "/ui/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    m = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/appeals").text)
    assert m
    return m[1]


def file(world: World, target: str = "p-remove") -> tuple[int, dict[str, str], dict[str, Any]]:
    r = world.client.post("/v1/appeals", json={"target_kind": "post", "target_id": target, "reason": "context"},
                          headers=world.h("integrator"))
    return r.status_code, dict(r.headers), r.json()


def test_the_key_that_decided_an_earlier_appeal_is_refused_another_key_of_the_same_name_is_not(
        world: World) -> None:
    c, clock = world.client, Clock(world)
    other_id, other_ana = second_ana(world)
    status, _, first = file(world)
    assert status == 201
    r = c.post(f"/v1/appeals/{first['id']}/decision", json={"outcome": "upheld"}, headers=world.h("reviewer"))
    assert r.status_code == 200
    clock.advance(hours=25)
    status, _, second = file(world)
    assert status == 201 and second["id"] != first["id"]
    for action, body in (("lease", None), ("decision", {"outcome": "overturned"})):
        r = c.post(f"/v1/appeals/{second['id']}/{action}", json=body, headers=world.h("reviewer"))
        assert r.status_code == 409
        assert "earlier appeal" in r.json()["error"]["message"] and first["id"] in r.json()["error"]["message"]
    # the same name, another key: not the maker of the earlier decision (compared by key id, not by name)
    r = c.post(f"/v1/appeals/{second['id']}/lease", headers=other_ana)
    assert r.status_code == 200
    r = c.post(f"/v1/appeals/{second['id']}/decision", json={"outcome": "overturned"}, headers=other_ana)
    assert r.status_code == 200 and r.json()["state"] == "decided"
    with world.app.state.bastion.engine.connect() as conn:
        payloads = conn.execute(select(t.audit_log.c.payload).where(t.audit_log.c.event == "appeal.decide")
                                .order_by(t.audit_log.c.seq)).scalars().all()
    first_key, second_key = (orjson.loads(p)["key"] for p in payloads)
    assert second_key == other_id and first_key != other_id and world.keys["reviewer"].startswith(f"bst_{first_key}_")


def test_a_caller_without_a_key_id_is_compared_by_actor(world: World) -> None:
    """A caller that passes no key id (a direct call) is refused wherever its actor made an earlier decision."""
    clock = Clock(world)
    _, _, first = file(world)
    world.client.post(f"/v1/appeals/{first['id']}/decision", json={"outcome": "upheld"},
                      headers=world.h("reviewer"))
    clock.advance(hours=25)
    _, _, second = file(world)
    engine = world.app.state.bastion.engine
    with pytest.raises(ReviewError, match="earlier appeal"):
        appeals.decide(engine, second["id"], "reviewer:ana", "overturned", clock.now)
    out = appeals.decide(engine, second["id"], "reviewer:ben", "upheld", clock.now)
    assert out["decided_by"] == "reviewer:ben"


def test_the_key_that_made_the_contested_review_is_refused_another_key_of_the_same_name_is_not(
        world: World) -> None:
    """A job decision records its key (``review_decisions.key_id``): the appeal refuses that key, by lease and by
    decision, and a second key also named ana (another holder) decides it."""
    c, (other_id, other_ana) = world.client, second_ana(world)
    job = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=world.h("reviewer")).json()
    r = c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "uphold"}, headers=world.h("reviewer"))
    assert r.status_code == 200
    assert decision_keys(world, job["subject_id"]) == [(None, key_id_of(world, "reviewer"))]
    _, _, appeal = file(world, job["subject_id"])
    for action, body in (("lease", None), ("decision", {"outcome": "overturned"})):
        r = c.post(f"/v1/appeals/{appeal['id']}/{action}", json=body, headers=world.h("reviewer"))
        assert r.status_code == 409 and "contested decision" in r.json()["error"]["message"]
    assert c.post(f"/v1/appeals/{appeal['id']}/lease", headers=other_ana).status_code == 200
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned"}, headers=other_ana)
    assert r.status_code == 200 and r.json()["decided_by"] == "reviewer:ana"
    assert decision_keys(world, job["subject_id"]) == [(None, key_id_of(world, "reviewer")),
                                                      (appeal["id"], other_id)]


def test_a_decision_without_a_key_id_is_compared_by_actor(world: World) -> None:
    """A decision stored without a key id (rows from before the ``key_id`` column) may be any key's bearing its
    actor's name: every such key is refused, another name is not."""
    c, engine, (_, other_ana) = world.client, world.app.state.bastion.engine, second_ana(world)
    now = datetime.now(UTC)
    job = queues.lease(engine, job_id_for(world, "p-remove"), "reviewer:ana", now)
    decide.decide(engine, job.id, "reviewer:ana", "uphold", now)  # no key id, as before the migration
    assert decision_keys(world, "p-remove") == [(None, None)]
    _, _, appeal = file(world)
    for h in (world.h("reviewer"), other_ana):
        r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned"}, headers=h)
        assert r.status_code == 409 and "contested decision" in r.json()["error"]["message"]
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "upheld"}, headers=world.h("reviewer2"))
    assert r.status_code == 200


def test_the_ui_decides_appeals_as_the_signed_in_key(world: World) -> None:
    """The UI passes the session's key id: the key that made the contested review is refused there too, and a
    second key named ana, signed in, takes and decides the appeal, recorded under its key."""
    c, (other_id, _) = world.client, second_ana(world)
    job = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=world.h("reviewer")).json()
    c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "uphold"}, headers=world.h("reviewer"))
    _, _, appeal = file(world, job["subject_id"])
    csrf = ui_sign_in(world, world.keys["reviewer"])
    r = c.post(f"/ui/appeals/{appeal['id']}/lease", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "contested%20decision" in r.headers["location"]
    r = c.post(f"/ui/appeals/{appeal['id']}/decide", data={"csrf": csrf, "outcome": "upheld"},
               follow_redirects=False)
    assert r.status_code == 409
    csrf = ui_sign_in(world, world.extra["second_ana"])
    r = c.post(f"/ui/appeals/{appeal['id']}/lease", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/appeals/{appeal['id']}"
    r = c.post(f"/ui/appeals/{appeal['id']}/decide", data={"csrf": csrf, "outcome": "upheld"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/appeals?msg=")
    c.cookies.clear()
    assert appeals.get(world.app.state.bastion.engine, appeal["id"])["state"] == "decided"
    assert decision_keys(world, job["subject_id"])[-1] == (appeal["id"], other_id)


def test_bulk_decisions_record_the_deciding_key(world: World) -> None:
    r = world.client.post("/v1/review/bulk", json={"queue": "propaganda", "hashtag": "campaignx",
                                                   "outcome": "uphold"}, headers=world.h("reviewer"))
    assert r.status_code == 200 and r.json()["decided"] == 3
    for pid in ("p-camp1", "p-camp2", "p-camp3"):
        assert decision_keys(world, pid) == [(None, key_id_of(world, "reviewer"))]


def test_refiling_waits_out_the_cool_down_and_stops_at_the_limit(world: World) -> None:
    c, clock = world.client, Clock(world)
    status, _, first = file(world)
    assert status == 201
    decided_at = clock.advance(minutes=1)
    r = c.post(f"/v1/appeals/{first['id']}/decision", json={"outcome": "upheld"}, headers=world.h("reviewer2"))
    assert r.status_code == 200
    clock.advance(minutes=1)
    status, headers, err = file(world)
    assert status == 429 and err["error"]["code"] == "appeal_cooldown"
    retry_at = decided_at + appeals.REFILE_COOLDOWN
    assert int(headers["retry-after"]) == int((retry_at - clock.now).total_seconds())
    msg = err["error"]["message"]
    assert "cool-down of 24 h" in msg and retry_at.isoformat() in msg
    clock.now = retry_at - timedelta(seconds=1)
    assert file(world)[0] == 429
    clock.now = retry_at
    status, _, second = file(world)
    assert status == 201
    assert file(world)[2]["id"] == second["id"]  # the open one comes back, limit or not
    r = c.post(f"/v1/appeals/{second['id']}/decision", json={"outcome": "upheld"}, headers=world.h("reviewer"))
    assert r.status_code == 200  # ben decided the first one; ana decides this
    clock.advance(days=30)
    status, headers, err = file(world)
    assert status == 409 and err["error"]["code"] == "appeal_limit" and "retry-after" not in headers
    assert "limit of 2" in err["error"]["message"] and "no further appeal" in err["error"]["message"]
    with world.app.state.bastion.engine.connect() as conn:
        filed = conn.execute(select(appeal_rows.c.id).where(appeal_rows.c.target_id == "p-remove")).all()
    assert len(filed) == 2


def test_a_new_enforcement_can_be_appealed_afresh_and_the_limits_are_configurable(world: World) -> None:
    engine, clock = world.app.state.bastion.engine, Clock(world)
    appeal, _ = appeals.create(engine, reason="r", now=clock.now, actor="integrator:platform",
                               target_kind="post", target_id="p-remove")
    appeals.decide(engine, appeal["id"], "reviewer:ben", "overturned", clock.advance(minutes=1))
    with engine.begin() as conn:  # removed again, later: a new enforcement
        assert fx.enforce(conn, fx.enforcement_for("post", "p-remove"), decision_id="dec_again", rule="test",
                          source="automated", now=clock.advance(minutes=1))
    again, created = appeals.create(engine, reason="r", now=clock.advance(minutes=1), actor="integrator:platform",
                                    target_kind="post", target_id="p-remove")
    assert created and again["id"] != appeal["id"]
    appeals.decide(engine, again["id"], "reviewer:ana", "upheld", clock.advance(minutes=1))
    with pytest.raises(appeals.RefileRefused, match="limit of 1") as limit:
        appeals.create(engine, reason="r", now=clock.advance(minutes=1), actor="integrator:platform",
                       target_kind="post", target_id="p-remove", max_appeals=1)
    assert limit.value.retry_after(clock.now) is None
    third, created = appeals.create(engine, reason="r", now=clock.now, actor="integrator:platform",
                                    target_kind="post", target_id="p-remove", cooldown=timedelta(0))
    assert created and third["id"] not in (appeal["id"], again["id"])


def test_ui_job_decisions_record_the_signed_in_key(world: World) -> None:
    """A job decided in the UI carries the session's key id, so an appeal against it refuses that key only."""
    c = world.client
    job = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=world.h("reviewer")).json()
    csrf = ui_sign_in(world, world.keys["reviewer"])
    r = c.post(f"/ui/jobs/{job['id']}/decide", data={"csrf": csrf, "outcome": "uphold"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    c.cookies.clear()
    assert decision_keys(world, job["subject_id"]) == [(None, key_id_of(world, "reviewer"))]


def test_keys_naming_one_person_are_one_reviewer(world: World) -> None:
    """Where keys name who holds them (``person``), every key of the person who made the contested decision is
    refused, whatever its name; a key naming another person, or none, decides. The person is compared trimmed
    and case-folded, and the admin route sets it as the CLI does."""
    c = world.client
    r = c.post("/v1/keys", json={"role": "reviewer", "name": "ana-laptop", "person": "ana@example.org"},
               headers=world.h("admin"))
    assert r.status_code == 201
    first = {"Authorization": f"Bearer {r.json()['key']}"}
    engine = world.app.state.bastion.engine
    _, second_key = create_key(engine, "reviewer", name="ana-desk", person="  ANA@example.org ", now=datetime.now(UTC))
    _, ben_key = create_key(engine, "reviewer", name="ana-desk", person="ben@example.org", now=datetime.now(UTC))
    job = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=first).json()
    assert c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "uphold"}, headers=first).status_code == 200
    _, _, appeal = file(world, job["subject_id"])
    for action, body in (("lease", None), ("decision", {"outcome": "overturned"})):
        r = c.post(f"/v1/appeals/{appeal['id']}/{action}", json=body, headers={"Authorization": f"Bearer {second_key}"})
        assert r.status_code == 409 and "contested decision" in r.json()["error"]["message"]
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "upheld"},
               headers={"Authorization": f"Bearer {ben_key}"})
    assert r.status_code == 200 and r.json()["state"] == "decided"
    persons = {k["name"]: k["person"] for k in c.get("/v1/keys", headers=world.h("admin")).json()}
    assert persons["ana-laptop"] == "ana@example.org"
