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


def test_two_deliverers_at_once_send_each_entry_once(engine: Engine) -> None:
    """Deliverers running side by side (two `bastion webhooks deliver`) claim entries; none is sent twice."""
    import threading
    import time as _time

    decisions = [decision(f"p{i}") for i in range(40)]
    with engine.begin() as conn:
        enqueue(conn, decisions, NOW)
    seen: list[str] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        _time.sleep(0.005)  # a slow receiver, so the deliverers overlap
        with lock:
            seen.append(request.headers["Idempotency-Key"])
        return httpx.Response(200)

    def run() -> None:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        WebhookDeliverer(engine, "https://x.invalid", "k", client=client, sleep=lambda s: None).deliver_pending(
            now=NOW)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(seen) == sorted(d.id for d in decisions)  # every entry once, none twice
    with engine.connect() as conn:
        assert set(conn.execute(select(webhook_outbox.c.state)).scalars()) == {"delivered"}


def test_a_deliverer_that_died_mid_send_is_taken_over_after_its_lease(engine: Engine) -> None:
    from sqlalchemy import update

    from bastion.actions.webhook import CLAIM_LEASE

    d = decision("p9")
    with engine.begin() as conn:
        enqueue(conn, [d], NOW)
        conn.execute(update(webhook_outbox).values(state="sending", next_attempt_at=NOW + CLAIM_LEASE))
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    deliverer = WebhookDeliverer(engine, "https://x.invalid", "k", client=client, sleep=lambda s: None)
    assert deliverer.deliver_pending(now=NOW).delivered == 0  # still claimed
    assert deliverer.deliver_pending(now=NOW + CLAIM_LEASE).delivered == 1
