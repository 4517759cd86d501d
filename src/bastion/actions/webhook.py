"""The webhook action sink: tell the platform what was decided, reliably and verifiably.

Decisions with effects are written to an outbox in the same transaction as the decision (so none is lost),
then delivered by :class:`WebhookDeliverer`:

* the body is the decision's JSON; ``X-Bastion-Signature: t=<unix>,v1=<hex>`` is
  HMAC-SHA256(secret, ``"<t>." + body``), so the receiver can check origin and freshness;
* ``Idempotency-Key`` is the decision id, and the outbox is keyed by it: a decision is delivered once, and a
  receiver that sees a retry can drop it;
* failures (network errors, 5xx, 429) are retried with exponential backoff and jitter; a 4xx other than 429
  is permanent and marks the entry failed; entries still failing stay pending for the next run;
* each entry is claimed by one atomic update before it is sent, so two deliverers running at once never
  send it twice; a claim lapses after :data:`CLAIM_LEASE` (a deliverer that died mid-send is taken over).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, select, update

from bastion.store.schema import webhook_outbox

log = logging.getLogger(__name__)

#: How long a claimed entry belongs to its deliverer: longer than every attempt with its backoff takes.
CLAIM_LEASE = timedelta(minutes=10)


def sign(secret: str, body: bytes, ts: int) -> str:
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, *, tolerance_s: int = 300,
                     now: float | None = None) -> bool:
    """Receiver side: check a signature header (constant-time) and its freshness."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, ts), header)


@dataclass
class DeliveryStats:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0  # claimed by another deliverer


class WebhookDeliverer:
    def __init__(self, engine: Engine, url: str, secret: str, *, max_attempts: int = 5,
                 base_delay_s: float = 0.5, max_delay_s: float = 30.0, timeout_s: float = 5.0,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret")
        self.engine, self.url, self.secret = engine, url, secret
        self.max_attempts, self.base_delay_s, self.max_delay_s = max_attempts, base_delay_s, max_delay_s
        self.client = client or httpx.Client(timeout=timeout_s)
        self.sleep = sleep

    def backoff(self, attempt: int) -> float:
        delay: float = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return delay * (0.5 + random.random() / 2)

    def _send(self, decision_id: str, body: bytes) -> tuple[bool, bool, str]:
        """Returns (delivered, retryable, error)."""
        headers = {"Content-Type": "application/json", "Idempotency-Key": decision_id,
                   "X-Bastion-Signature": sign(self.secret, body, int(time.time()))}
        try:
            resp = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, True, f"{type(exc).__name__}: {exc}"
        if resp.status_code < 300:
            return True, False, ""
        retryable = resp.status_code >= 500 or resp.status_code in (408, 409, 425, 429)
        return False, retryable, f"HTTP {resp.status_code}"

    def deliver_pending(self, *, now: datetime | None = None, limit: int = 1000) -> DeliveryStats:
        """Send what is due. Each entry is claimed first (one atomic update: only one deliverer wins it, on
        SQLite and PostgreSQL alike), so deliverers running side by side never send an entry twice; a claim
        lapses after :data:`CLAIM_LEASE` so an entry whose deliverer died is picked up again."""
        now = now or datetime.now(UTC)
        stats = DeliveryStats()
        o = webhook_outbox
        with self.engine.connect() as conn:
            due = conn.execute(select(o.c.decision_id).where(o.c.state.in_(("pending", "sending")),
                                                             o.c.next_attempt_at <= now)
                               .order_by(o.c.created_at).limit(limit)).scalars().all()
        for decision_id in due:
            with self.engine.begin() as conn:
                claimed = conn.execute(
                    update(o).where(o.c.decision_id == decision_id, o.c.state.in_(("pending", "sending")),
                                    o.c.next_attempt_at <= now)
                    .values(state="sending", next_attempt_at=now + CLAIM_LEASE)
                    .returning(o.c.payload, o.c.attempts)).first()
            if claimed is None:  # another deliverer has it
                stats.skipped += 1
                continue
            payload, attempts = claimed
            body = payload.encode()
            error = ""
            delivered = retryable = False
            for _ in range(self.max_attempts - attempts):
                attempts += 1
                delivered, retryable, error = self._send(decision_id, body)
                if delivered or not retryable:
                    break
                stats.retried += 1
                if attempts < self.max_attempts:
                    self.sleep(self.backoff(attempts))
            values: dict[str, object] = {"attempts": attempts, "last_error": error or None}
            if delivered:
                values.update(state="delivered", delivered_at=datetime.now(UTC))
                stats.delivered += 1
            elif not retryable or attempts >= self.max_attempts:
                values["state"] = "failed"
                stats.failed += 1
                log.warning("webhook delivery of %s failed permanently: %s", decision_id, error)
            else:
                values.update(state="pending", next_attempt_at=now + timedelta(seconds=self.backoff(attempts)))
                stats.pending += 1
            with self.engine.begin() as conn:
                conn.execute(update(o).where(o.c.decision_id == decision_id).values(**values))
        return stats
