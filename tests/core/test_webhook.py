"""Webhook sink: HMAC-signed, retried with backoff, idempotent by decision id."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, select

from bastion.actions.webhook import WebhookDeliverer, verify_signature
from bastion.policy.engine import PolicyEngine
from bastion.policy.loader import load_policy
from bastion.policy.model import Subject
from bastion.signals import Signal
from bastion.store.outbox import enqueue
from bastion.store.schema import webhook_outbox

NOW = datetime(2015, 2, 1, tzinfo=UTC)


def decision(subject_id: str = "p1"):  # type: ignore[no-untyped-def]
    sigs = {"propaganda": Signal("propaganda", 0.99, "t", "1"), "reporting": Signal("reporting", 0.0, "t", "1")}
    return PolicyEngine(load_policy(None)).decide(Subject.POST, subject_id, sigs, now=NOW, account_id="a")


def test_signed_retried_and_delivered_once(engine: Engine) -> None:
    received: list[httpx.Request] = []
    replies = iter([503, 500, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(replies))

    d = decision()
    with engine.begin() as conn:
        assert enqueue(conn, [d, d], NOW) == 2  # the same decision twice is one outbox entry
    sleeps: list[float] = []
    deliverer = WebhookDeliverer(engine, "https://platform.invalid/hook", "s3cret",
                                 client=httpx.Client(transport=httpx.MockTransport(handler)), sleep=sleeps.append)
    stats = deliverer.deliver_pending(now=NOW)
    assert stats.delivered == 1 and stats.retried == 2
    assert len(received) == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.9  # backoff grows
    req = received[-1]
    assert req.headers["Idempotency-Key"] == d.id
    assert verify_signature("s3cret", req.content, req.headers["X-Bastion-Signature"])
    assert not verify_signature("other", req.content, req.headers["X-Bastion-Signature"])
    assert not verify_signature("s3cret", req.content + b" ", req.headers["X-Bastion-Signature"])
    # delivered entries are not sent again
    assert deliverer.deliver_pending(now=NOW).delivered == 0 and len(received) == 3


def test_permanent_failure_is_recorded_not_lost(engine: Engine) -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(400)))
    with engine.begin() as conn:
        enqueue(conn, [decision("p2")], NOW)
    stats = WebhookDeliverer(engine, "https://x.invalid", "k", client=client, sleep=lambda s: None).deliver_pending(
        now=NOW)
    assert stats.failed == 1
    with engine.connect() as conn:
        row = conn.execute(select(webhook_outbox.c.state, webhook_outbox.c.last_error)).one()
    assert row.state == "failed" and row.last_error == "HTTP 400"
