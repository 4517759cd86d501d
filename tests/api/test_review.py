"""Review queues, leases and decisions, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from seed import World
from sqlalchemy import select

from bastion.audit.log import verify
from bastion.review import queues
from bastion.review.model import LeaseConflict
from bastion.store import schema as t
from bastion.store.api import review_decisions


def _row(w: World, table: t.Table, **where: str) -> t.Row:  # type: ignore[name-defined]
    with w.app.state.bastion.engine.connect() as conn:
        stmt = select(table)
        for k, v in where.items():
            stmt = stmt.where(table.c[k] == v)
        return conn.execute(stmt).one()


def test_removal_order_jumps_the_queue(world: World) -> None:
    c = world.client
    queues_ = c.get("/v1/review/queues", headers=world.h("reviewer")).json()
    assert queues_[0]["queue"] == "removal-orders" and queues_[0]["seconds_left"] <= 3600
    job = c.post("/v1/review/lease", headers=world.h("reviewer")).json()
    assert job["queue"] == "removal-orders" and job["subject_id"] == "p-ordered" and job["priority"] == 0


def test_two_reviewers_never_get_the_same_job(world: World) -> None:
    c = world.client
    a = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=world.h("reviewer")).json()
    b = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=world.h("reviewer2")).json()
    assert a["id"] != b["id"]
    again = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=world.h("reviewer")).json()
    assert again["id"] == a["id"], "one job at a time: the reviewer's own lease comes back"
    r = c.post(f"/v1/review/jobs/{a['id']}/lease", headers=world.h("reviewer2"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = c.post(f"/v1/review/jobs/{a['id']}/decision", json={"outcome": "uphold"}, headers=world.h("reviewer2"))
    assert r.status_code == 409
    # an expired lease can be taken over
    engine = world.app.state.bastion.engine
    later = datetime.now(UTC) + timedelta(hours=2)
    taken = queues.lease(engine, a["id"], "reviewer:ben", later)
    assert taken.lease_owner == "reviewer:ben"
    with pytest.raises(LeaseConflict):
        queues.lease(engine, a["id"], "reviewer:ana", later)


def test_uphold_enforces_and_overturn_reverses(world: World) -> None:
    c, h = world.client, world.h("reviewer")
    job = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=h).json()
    res = c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "uphold", "notes": "clear"},
                 headers=h).json()
    assert res["enforced"] == [{"action": "remove_post", "target_kind": "post", "target_id": job["subject_id"]}]
    post = _row(world, t.posts, id=job["subject_id"])
    assert post.removed_at is not None
    ledger = _row(world, t.ledger, decision_id=res["id"])
    assert ledger.automated is False and ledger.source == "automated" and ledger.policy == "human-review"
    # the automated removal of p-remove is in the QA queue: overturning it reverses it
    qa = c.post("/v1/review/lease", params={"queue": "propaganda-qa"}, headers=h).json()
    assert qa["subject_id"] == "p-remove"
    res = c.post(f"/v1/review/jobs/{qa['id']}/decision", json={"outcome": "counter_speech"}, headers=h).json()
    assert {"action": "remove_post", "target_kind": "post", "target_id": "p-remove"} in res["reversed"]
    assert _row(world, t.posts, id="p-remove").removed_at is None
    auto = _row(world, t.ledger, target_id="p-remove", action="remove_post")
    assert auto.reversed_at is not None and auto.reversed_by == "reviewer:ana"
    rd = _row(world, review_decisions, id=res["id"])
    assert rd.labels == ["counter_speech"]
    with world.app.state.bastion.engine.connect() as conn:
        events = [r.event for r in conn.execute(select(t.audit_log.c.event).where(
            t.audit_log.c.actor == "reviewer:ana"))]
        hooks = [orjson.loads(r.payload) for r in conn.execute(select(t.webhook_outbox.c.payload))]
    assert events.count("review.decide") == 2 and "review.lease" in events
    assert any(p.get("type") == "review.decided" and p["outcome"] == "counter_speech" for p in hooks)
    assert verify(world.app.state.bastion.engine).ok


def test_report_origin_is_recorded(world: World) -> None:
    c, h = world.client, world.h("reviewer")
    job = c.post("/v1/review/lease", headers=h).json()  # the removal order
    res = c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "uphold"}, headers=h).json()
    ledger = _row(world, t.ledger, decision_id=res["id"])
    assert ledger.source == "authority" and ledger.target_id == "p-ordered"


def test_escalate_opens_a_security_case(world: World) -> None:
    c, h = world.client, world.h("reviewer")
    job = c.post("/v1/review/lease", params={"queue": "reports"}, headers=h).json()
    res = c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "escalate"}, headers=h).json()
    assert res["case_id"]
    if world.extra.get("case_id") is not None:  # threats capability installed: a case with the post
        case = c.get(f"/v1/cases/{res['case_id']}", headers=world.h("security")).json()
        assert case["subject_post_id"] == job["subject_id"] or any(
            i["subject_id"] == job["subject_id"] for i in case["items"])
    else:
        assert _row(world, t.review_jobs, id=res["case_id"]).queue == "security"


def test_bulk_decide_a_campaign(world: World) -> None:
    c, h = world.client, world.h("reviewer")
    r = c.post("/v1/review/bulk", json={"queue": "propaganda", "hashtag": "#CampaignX", "outcome": "uphold"},
               headers=h)
    assert r.status_code == 200 and r.json()["decided"] == 3
    for pid in ("p-camp1", "p-camp2", "p-camp3"):
        assert _row(world, t.posts, id=pid).removed_at is not None
    r = c.post("/v1/review/bulk", json={"queue": "propaganda", "hashtag": "campaignx", "outcome": "uphold"},
               headers=h)
    assert r.status_code == 409


def test_job_view_has_what_a_reviewer_needs(world: World) -> None:
    c, h = world.client, world.h("reviewer")
    jid = _row(world, t.review_jobs, subject_id="p-remove").id
    ctx = c.get(f"/v1/review/jobs/{jid}", headers=h).json()
    marked = [s for s in ctx["segments"] if s["label"]]
    assert marked == [{"text": "ZZORG", "label": "org"}]
    assert "".join(s["text"] for s in ctx["segments"]).startswith("Look at ZZORG here <script>")
    assert ctx["rules"][0]["rule"].startswith("propaganda-remove")
    assert ctx["author"]["handle"] == "alpha_news" and "location" not in ctx["author"]
    assert [p["id"] for p in ctx["recent_posts"]] == ["p-media"]
    assert ctx["enforcement"][0]["action"] == "remove_post"
    sec_view = c.get(f"/v1/review/jobs/{jid}", headers=world.h("security"))
    assert sec_view.status_code == 403  # not a security queue


def test_labels_export(world: World) -> None:
    c = world.client
    c.post("/v1/review/bulk", json={"queue": "propaganda", "hashtag": "campaignx", "outcome": "overturn"},
           headers=world.h("reviewer"))
    r = c.get("/v1/review/labels", headers=world.h("admin"))
    assert r.status_code == 200
    rows = [orjson.loads(line) for line in r.text.splitlines()]
    assert {x["id"] for x in rows} == {"p-camp1", "p-camp2", "p-camp3"}
    assert {x["label"] for x in rows} == {"not_violating"}
    assert rows[0]["text"].startswith("QQSLOGAN") and "actor" not in rows[0]


def test_no_role_reads_a_queue_it_may_not_work(world: World) -> None:
    c = world.client
    assert c.get("/v1/review/queues/security/jobs", headers=world.h("reviewer")).status_code == 403
    assert c.get("/v1/review/queues/propaganda/jobs", headers=world.h("security")).status_code == 403
    assert c.get("/v1/review/queues/security/jobs", headers=world.h("security")).status_code == 200
    assert c.get("/v1/review/queues/propaganda/jobs", headers=world.h("reviewer")).status_code == 200
    for queue in ("security", "propaganda"):  # administrators oversee every queue
        assert c.get(f"/v1/review/queues/{queue}/jobs", headers=world.h("admin")).status_code == 200
    seen = {q["queue"] for q in c.get("/v1/review/queues", headers=world.h("reviewer")).json()}
    assert "security" not in seen and "propaganda" in seen
    assert {q["queue"] for q in c.get("/v1/review/queues", headers=world.h("security")).json()} <= {"security"}
