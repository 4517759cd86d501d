"""Webhook sink: HMAC-signed (v2 covers time, nonce, idempotency key and body), retried with backoff, idempotent
by decision id; receivers refuse stale and replayed deliveries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select

from bastion.actions.webhook import NonceCache, WebhookDeliverer, verify_delivery, verify_signature
from bastion.policy.engine import PolicyEngine
from bastion.policy.loader import load_policy
from bastion.policy.model import Subject
from bastion.signals import Signal
from bastion.store.attest import tracked
from bastion.store.outbox import enqueue
from bastion.store.schema import webhook_outbox

NOW = datetime(2015, 2, 1, tzinfo=UTC)
T0 = 1_700_000_000.0  # the deliverer's clock when it signs
SNIPPET = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


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
        with tracked(conn, webhook_outbox, [d.id]):
            conn.execute(update(webhook_outbox).values(state="sending", next_attempt_at=NOW + CLAIM_LEASE))
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    deliverer = WebhookDeliverer(engine, "https://x.invalid", "k", client=client, sleep=lambda s: None)
    assert deliverer.deliver_pending(now=NOW).delivered == 0  # still claimed
    assert deliverer.deliver_pending(now=NOW + CLAIM_LEASE).delivered == 1


def deliver(engine: Engine, replies: Sequence[int] = (200,), *, subject_id: str = "w1",
            clock: Callable[[], float] = lambda: T0, **kw: Any) -> tuple[str, list[httpx.Request]]:
    """Queue one decision, run a deliverer against a receiver answering ``replies``; (decision id, requests)."""
    received: list[httpx.Request] = []
    answers = iter(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(answers))

    d = decision(subject_id)
    with engine.begin() as conn:
        enqueue(conn, [d], NOW)
    WebhookDeliverer(engine, "https://platform.invalid/hook", "s3cret", sleep=lambda s: None, clock=clock,
                     client=httpx.Client(transport=httpx.MockTransport(handler)), **kw).deliver_pending(now=NOW)
    return d.id, received


def signature_parts(headers: dict[str, str]) -> dict[str, str]:
    return dict(p.split("=", 1) for p in headers["x-bastion-signature"].split(","))


def with_signature(headers: dict[str, str], **parts: str) -> dict[str, str]:
    sig = {**signature_parts(headers), **parts}
    return {**headers, "x-bastion-signature": ",".join(f"{k}={v}" for k, v in sig.items() if v)}


def test_v2_signature_covers_time_nonce_idempotency_key_and_body(engine: Engine) -> None:
    decision_id, [req] = deliver(engine)
    h, body = dict(req.headers), req.content
    assert h["idempotency-key"] == decision_id
    parts = signature_parts(h)
    assert list(parts) == ["t", "n", "v1", "v2"] and parts["t"] == str(int(T0)) and len(parts["n"]) == 32

    def ok(headers: dict[str, str], content: bytes = body, secret: str = "s3cret") -> bool:
        return verify_delivery(secret, headers, content, seen_nonce=None, now=T0)

    assert ok(h)
    assert ok({k.title(): v for k, v in h.items()})  # header names are case-insensitive
    assert not ok(h, secret="other")
    assert not ok(h, body + b" ")
    assert not ok(with_signature(h, n="0" * 32))  # another nonce
    assert not ok({**h, "idempotency-key": "another-effect"})  # another idempotency key
    assert not ok({k: v for k, v in h.items() if k != "idempotency-key"})
    assert not ok(with_signature(h, t=str(int(T0) + 1)))
    assert not ok(with_signature(h, v2=""))  # stripped to v1 only: no downgrade
    assert not ok(with_signature(h, n=""))
    assert not ok({**h, "x-bastion-signature": "garbage"})
    # the legacy v1 check still passes for receivers not yet on v2 ...
    assert verify_signature("s3cret", body, h["x-bastion-signature"], now=T0)
    assert not verify_signature("s3cret", body + b" ", h["x-bastion-signature"], now=T0)


def test_a_replayed_delivery_is_refused(engine: Engine) -> None:
    _, [req] = deliver(engine)
    h, body = dict(req.headers), req.content
    seen = NonceCache(clock=lambda: T0 + 1)
    assert verify_delivery("s3cret", h, body, seen_nonce=seen, now=T0 + 1)
    assert not verify_delivery("s3cret", h, body, seen_nonce=seen, now=T0 + 2)  # same headers, same body
    assert len(seen) == 1
    # only verified nonces are recorded: a forgery does not fill the cache nor burn a nonce
    forged = with_signature(h, n="f" * 32)
    assert not verify_delivery("s3cret", forged, body, seen_nonce=seen, now=T0 + 2) and len(seen) == 1


def test_the_nonce_cache_remembers_for_twice_the_tolerance() -> None:
    clock = [T0]
    seen = NonceCache(clock=lambda: clock[0])
    assert not seen("a" * 32) and seen("a" * 32)
    clock[0] = T0 + 599
    assert seen("a" * 32)  # still within the window in which a replay could pass the time check
    clock[0] = T0 + 600
    assert not seen("b" * 32) and len(seen) == 1  # "a" forgotten


def test_a_stale_or_future_timestamp_is_refused(engine: Engine) -> None:
    _, [req] = deliver(engine)
    h, body = dict(req.headers), req.content
    for now, accepted in ((T0 + 300, True), (T0 + 301, False), (T0 - 300, True), (T0 - 301, False),
                          (T0 + 3600, False)):
        assert verify_delivery("s3cret", h, body, seen_nonce=NonceCache(), now=now) is accepted, now
        assert verify_signature("s3cret", body, h["x-bastion-signature"], now=now) is accepted, now
    assert not verify_delivery("s3cret", h, body, seen_nonce=None, now=T0 + 60, tolerance_s=30)


def test_a_retry_keeps_the_idempotency_key_with_a_fresh_nonce_and_timestamp(engine: Engine) -> None:
    ticks = iter([T0, T0 + 2, T0 + 5])
    decision_id, received = deliver(engine, [503, 429, 200], clock=lambda: next(ticks))
    assert len(received) == 3
    assert {r.headers["Idempotency-Key"] for r in received} == {decision_id}
    parts = [signature_parts(dict(r.headers)) for r in received]
    assert len({p["n"] for p in parts}) == 3 and [p["t"] for p in parts] == [str(int(T0)), str(int(T0) + 2),
                                                                              str(int(T0) + 5)]
    assert len({r.content for r in received}) == 1
    seen = NonceCache()
    assert all(verify_delivery("s3cret", dict(r.headers), r.content, seen_nonce=seen, now=T0 + 5) for r in received)


def test_legacy_v1_can_be_turned_off(engine: Engine) -> None:
    _, [req] = deliver(engine, legacy_v1=False)
    h = dict(req.headers)
    assert list(signature_parts(h)) == ["t", "n", "v2"]
    assert verify_delivery("s3cret", h, req.content, seen_nonce=None, now=T0)
    assert not verify_signature("s3cret", req.content, h["x-bastion-signature"], now=T0)


def test_the_documented_receiver_snippet_verifies_and_refuses_replays(engine: Engine) -> None:
    """docs/webhooks.md's Python snippet, run as written against real deliveries (signed now)."""
    code = SNIPPET.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    ns: dict[str, Any] = {"__name__": "receiver"}
    exec(compile(code, str(SNIPPET), "exec"), ns)
    applied: list[str] = []
    ns["apply"] = lambda key, event: applied.append(key)
    decision_id, received = deliver(engine, [503, 200], clock=time.time)
    first, retry = ((dict(r.headers), r.content) for r in received)
    handle = ns["handle"]
    assert handle("s3cret", *first) == 200 and applied == [decision_id]
    assert handle("s3cret", *first) == 401  # replay: same nonce
    assert handle("s3cret", *retry) == 200 and applied == [decision_id]  # retry: new nonce, same key, not reapplied
    assert handle("other", *retry) == 401
    assert handle("s3cret", with_signature(first[0], n="0" * 32), first[1]) == 401
    assert handle("s3cret", {**first[0], "idempotency-key": "x"}, first[1]) == 401
    h, body = first
    assert not ns["verify"]("s3cret", h, body, now=float(signature_parts(h)["t"]) + 301)  # stale
