"""Appeals: filed by the platform for a user, decided by a different reviewer, overturns reverse."""

from __future__ import annotations

import orjson
from seed import World
from sqlalchemy import select

from bastion.store import schema as t


def test_appeal_overturned_reverses_the_removal(world: World) -> None:
    c = world.client
    r = c.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-remove", "appellant_id": "u-alpha",
                                    "reason": "It was a news quote. <b>bold</b>"}, headers=world.h("integrator"))
    assert r.status_code == 201
    appeal = r.json()
    dup = c.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-remove", "reason": "again"},
                 headers=world.h("integrator"))
    assert dup.status_code == 200 and dup.json()["id"] == appeal["id"]
    listed = c.get("/v1/appeals", headers=world.h("reviewer")).json()
    assert [a["id"] for a in listed] == [appeal["id"]]
    c.post(f"/v1/appeals/{appeal['id']}/lease", headers=world.h("reviewer"))
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned"}, headers=world.h("reviewer2"))
    assert r.status_code == 409  # leased by another reviewer
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned", "notes": "quote"},
               headers=world.h("reviewer"))
    assert r.status_code == 200
    out = r.json()
    assert out["outcome"] == "overturned" and out["state"] == "decided"
    assert out["reversed"] == [{"action": "remove_post", "target_kind": "post", "target_id": "p-remove"}]
    engine = world.app.state.bastion.engine
    with engine.connect() as conn:
        assert conn.execute(select(t.posts.c.removed_at).where(t.posts.c.id == "p-remove")).scalar() is None
        led = conn.execute(select(t.ledger).where(t.ledger.c.target_id == "p-remove")).one()
        assert led.reversed_at is not None and led.reversed_by == "reviewer:ana"
        hook = conn.execute(select(t.webhook_outbox.c.payload).where(
            t.webhook_outbox.c.decision_id == appeal["id"])).scalar_one()
        audit = conn.execute(select(t.audit_log.c.event).where(t.audit_log.c.event.like("appeal.%"))
                             .order_by(t.audit_log.c.seq)).all()
    body = orjson.loads(hook)
    assert body["type"] == "appeal.decided" and body["outcome"] == "overturned" and body["target_id"] == "p-remove"
    assert [e for (e,) in audit] == ["appeal.create", "appeal.lease", "appeal.decide"]
    status = c.get(f"/v1/appeals/{appeal['id']}", headers=world.h("integrator")).json()
    assert status["outcome"] == "overturned"
    nothing = c.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-remove", "reason": "x"},
                     headers=world.h("integrator"))
    assert nothing.status_code == 400  # reversed: nothing left to appeal


def test_the_original_reviewer_cannot_decide_the_appeal(world: World) -> None:
    c = world.client
    job = c.post("/v1/review/lease", params={"queue": "propaganda"}, headers=world.h("reviewer")).json()
    c.post(f"/v1/review/jobs/{job['id']}/decision", json={"outcome": "uphold"}, headers=world.h("reviewer"))
    appeal = c.post("/v1/appeals", json={"target_kind": "post", "target_id": job["subject_id"], "reason": "no"},
                    headers=world.h("integrator")).json()
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned"}, headers=world.h("reviewer"))
    assert r.status_code == 409 and "another reviewer" in r.json()["error"]["message"]
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "upheld"}, headers=world.h("reviewer2"))
    assert r.status_code == 200 and r.json()["reversed"] == []
    with world.app.state.bastion.engine.connect() as conn:
        removed = conn.execute(select(t.posts.c.removed_at).where(t.posts.c.id == job["subject_id"])).scalar()
    assert removed is not None


def test_appeal_by_decision_id_and_validation(world: World) -> None:
    c, h = world.client, world.h("integrator")
    verdict = c.post("/v1/posts", json={"id": "ap-1", "account_id": "u-beta", "text": "ZZORG"}, headers=h).json()
    r = c.post("/v1/appeals", json={"decision_id": verdict["decision_id"], "reason": "context"}, headers=h)
    assert r.status_code == 201 and r.json()["target_id"] == "ap-1"
    assert c.post("/v1/appeals", json={"decision_id": "dec_none", "reason": "x"}, headers=h).status_code == 404
    assert c.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-plain", "reason": "x"},
                  headers=h).status_code == 400
    assert c.post("/v1/appeals", json={"target_kind": "post", "target_id": "ap-1", "reason": ""},
                  headers=h).status_code == 422


def test_appeal_outcome_is_delivered_by_the_webhook_sink(world: World) -> None:
    """The outcome goes out through the platform webhook's outbox: signed, idempotent by appeal id."""
    import httpx

    from bastion.actions.webhook import WebhookDeliverer, verify_signature

    c = world.client
    appeal = c.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-remove", "reason": "quote"},
                    headers=world.h("integrator")).json()
    c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned"}, headers=world.h("reviewer"))
    received: list[httpx.Request] = []

    def platform(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    engine = world.app.state.bastion.engine
    with httpx.Client(transport=httpx.MockTransport(platform)) as client:
        stats = WebhookDeliverer(engine, "http://platform.test/hook", "s3cret", client=client).deliver_pending()
    assert stats.delivered >= 1
    mine = [r for r in received if r.headers["idempotency-key"] == appeal["id"]]
    assert len(mine) == 1
    body = orjson.loads(mine[0].content)
    assert body["type"] == "appeal.decided" and body["outcome"] == "overturned"
    assert body["reversed"] == [{"action": "remove_post", "target_kind": "post", "target_id": "p-remove"}]
    assert verify_signature("s3cret", mine[0].content, mine[0].headers["x-bastion-signature"])
