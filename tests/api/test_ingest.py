"""Ingest: synchronous verdicts through the real pipeline, batches with per-item errors, limits, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import seed
from seed import World
from sqlalchemy import select

from bastion.api.keys import create_key
from bastion.store import schema as t


def test_post_verdicts_follow_the_policy(shared_world: World) -> None:
    c, h = shared_world.client, shared_world.h("integrator")
    block = c.post("/v1/posts", json={"id": "v-block", "account_id": "u-beta", "text": "ZZORG again"}, headers=h)
    assert block.status_code == 200
    body = block.json()
    assert body["verdict"] == "block"
    assert body["id"] == "v-block" and body["decision_id"].startswith("dec_")
    assert {a["action"] for a in body["actions"]} >= {"remove_post", "review"}
    assert "propaganda-remove" in body["explanation"]
    review = c.post("/v1/posts", json={"id": "v-review", "account_id": "u-beta", "text": "QQSLOGAN"}, headers=h)
    assert review.json()["verdict"] == "review"
    allow = c.post("/v1/posts", json={"id": "v-allow", "account_id": "u-beta", "text": "bread"}, headers=h)
    assert allow.json()["verdict"] == "allow" and allow.json()["actions"] == []
    # the verdict was stored like a scanned one: the decision is readable and the post removed
    d = c.get(f"/v1/decisions/{body['decision_id']}", headers=h).json()
    assert d["subject_id"] == "v-block" and d["enforced"]
    with shared_world.app.state.bastion.engine.connect() as conn:
        removed = conn.execute(select(t.posts.c.removed_at).where(t.posts.c.id == "v-block")).scalar()
    assert removed is not None
    # the same post again is the same decision (idempotent), not a second enforcement
    again = c.post("/v1/posts", json={"id": "v-block", "account_id": "u-beta", "text": "ZZORG again"}, headers=h)
    assert again.json()["decision_id"] == body["decision_id"]


def test_batch_reports_bad_items_without_failing_the_rest(shared_world: World) -> None:
    c, h = shared_world.client, shared_world.h("integrator")
    items = [{"id": "b1", "account_id": "u-beta", "text": "fine"}, {"id": "b2", "text": "no author"},
             "not an object", {"id": "b3", "account_id": "u-beta", "text": "ZZORG",
                               "created_at": "not a time"}, {"id": "b4", "account_id": "u-beta", "text": "ok"}]
    r = c.post("/v1/posts/batch", json={"items": items}, headers=h)
    assert r.status_code == 200
    out = r.json()
    assert [x["id"] for x in out["results"]] == ["b1", "b4"]
    errs = {e["index"]: e for e in out["errors"]}
    assert set(errs) == {1, 2, 3}
    assert errs[1]["field"] == "account_id" and errs[3]["field"] == "created_at"


def test_reports_edges_enforcement(shared_world: World) -> None:
    c, h = shared_world.client, shared_world.h("integrator")
    now = datetime.now(UTC)
    r = c.post("/v1/reports", json={"id": "ro-1", "target_id": "v-allow", "reporter_kind": "authority",
                                    "created_at": now.isoformat()}, headers=h)
    assert r.status_code == 200 and r.json()["verdict"] == "review"
    with shared_world.app.state.bastion.engine.connect() as conn:
        job = conn.execute(select(t.review_jobs).where(t.review_jobs.c.subject_id == "v-allow",
                                                       t.review_jobs.c.queue == "removal-orders")).one()
    assert job.priority == 0 and job.deadline is not None
    assert abs((job.deadline - now).total_seconds() - 3600) < 5  # the one-hour removal-order deadline
    r = c.post("/v1/edges", json={"src": "u-beta", "dst": "u-gamma", "kind": "follow"}, headers=h)
    assert r.json() == {"accepted": 1, "errors": []}
    r = c.post("/v1/enforcement", json={"id": "en-1", "kind": "suspend", "target_kind": "account",
                                        "target_id": "u-gamma", "created_at": now.isoformat()}, headers=h)
    assert r.json()["accepted"] == 1
    with shared_world.app.state.bastion.engine.connect() as conn:
        assert conn.execute(select(t.accounts.c.status).where(t.accounts.c.id == "u-gamma")).scalar() == "suspended"


def test_clear_json_errors(shared_world: World) -> None:
    c, h = shared_world.client, shared_world.h("integrator")
    r = c.post("/v1/posts", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    r = c.post("/v1/posts", json={"id": "x", "account_id": "a", "text": "t", "surprise": 1}, headers=h)
    assert r.status_code == 422
    assert any(d["field"] == "surprise" for d in r.json()["error"]["details"])
    r = c.get("/v1/decisions/dec_missing", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = c.post("/v1/posts", json={"id": "x", "account_id": "a", "text": "t",
                                  "media": [{"id": "m", "path": "/etc/passwd"}]}, headers=h)
    assert r.status_code == 422 and "media root" in r.json()["error"]["message"]
    r = c.get("/v1/nowhere", headers=h)
    assert r.status_code == 404 and r.json()["error"]["status"] == 404


def test_body_size_limit(tmp_path: object) -> None:
    w = seed.build(f"sqlite:///{tmp_path}/limit.db", max_body_bytes=2048)
    h = w.h("integrator")
    r = w.client.post("/v1/posts", json={"id": "big", "account_id": "a", "text": "x" * 5000}, headers=h)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    chunks = (b"x" * 1024 for _ in range(4))  # no Content-Length: counted as it streams
    r = w.client.post("/v1/posts", content=chunks, headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413
    r = w.client.post("/v1/posts", json={"id": "small", "account_id": "a", "text": "x"}, headers=h)
    assert r.status_code == 200


def test_rate_limits(tmp_path: object) -> None:
    w = seed.build(f"sqlite:///{tmp_path}/rate.db", rates={"integrator": (0.5, 3.0), "reviewer": (1, 1),
                                                          "security": (1, 1), "admin": (1, 1)},
                   anon_rate=(0.1, 2.0))
    fresh = create_key(w.app.state.bastion.engine, "integrator", now=datetime.now(UTC))[1]  # a full bucket
    h = {"Authorization": f"Bearer {fresh}"}
    codes = [w.client.post("/v1/edges", json={"src": "a", "dst": "b", "kind": "follow"}, headers=h).status_code
             for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    limited = w.client.post("/v1/edges", json={"src": "a", "dst": "b", "kind": "follow"}, headers=h)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    # failed authentication is limited per client address
    bad = [w.client.get("/v1/review/queues", headers={"Authorization": "Bearer bst_nope_nope"}).status_code
           for _ in range(4)]
    assert bad[:2] == [401, 401] and bad[-1] == 429
