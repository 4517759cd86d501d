"""The webhook action sink: tell the platform what was decided, reliably and verifiably.

Decisions with effects are written to an outbox in the same transaction as the decision (so none is lost),
then delivered by :class:`WebhookDeliverer`:

* the body is the decision's JSON; ``X-Bastion-Signature: t=<unix>,n=<nonce>,v1=<hex>,v2=<hex>`` where
  ``v2`` is HMAC-SHA256(secret, ``"<t>\\n<nonce>\\n<Idempotency-Key>\\n" + body``): it covers the time, a fresh
  random nonce and the idempotency key as well as the body, so a receiver checks origin and freshness and
  rejects a replayed delivery by its nonce (:func:`verify_delivery`, :class:`NonceCache`; docs/webhooks.md).
  ``v1`` (HMAC over ``"<t>." + body`` only, replayable within the tolerance) is still sent for receivers not yet
  on v2, unless the deliverer is made with ``legacy_v1=False``;
* ``Idempotency-Key`` is the effect's id (decision, review decision or appeal), and the outbox is keyed by it: an
  effect is delivered once, and every retry of it carries the same key (with a new nonce and timestamp), so a
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
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, select, update

from bastion.store.attest import tracked
from bastion.store.schema import webhook_outbox

log = logging.getLogger(__name__)

#: How long a claimed entry belongs to its deliverer: longer than every attempt with its backoff takes.
CLAIM_LEASE = timedelta(minutes=10)

#: How far a delivery's timestamp may be from the receiver's clock (either way) before it is refused.
TOLERANCE_S = 300

SIGNATURE_HEADER = "X-Bastion-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"

_TS = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_payload_v2(ts: str, nonce: str, idempotency_key: str, body: bytes) -> bytes:
    """What ``v2`` signs. Newlines separate the parts: no header value can hold one, so no two deliveries share a
    signed string (moving bytes between the idempotency key and the body changes it)."""
    return f"{ts}\n{nonce}\n{idempotency_key}\n".encode() + body


def sign(secret: str, body: bytes, ts: int, nonce: str, idempotency_key: str, *, legacy_v1: bool = True) -> str:
    """The ``X-Bastion-Signature`` value: ``t=<ts>,n=<nonce>[,v1=<hex>],v2=<hex>``."""
    parts = [f"t={ts}", f"n={nonce}"]
    if legacy_v1:
        parts.append(f"v1={_hmac(secret, f'{ts}.'.encode() + body)}")
    parts.append(f"v2={_hmac(secret, signed_payload_v2(str(ts), nonce, idempotency_key, body))}")
    return ",".join(parts)


def _parse(header: str) -> dict[str, str] | None:
    try:
        return dict(p.strip().split("=", 1) for p in header.split(","))
    except ValueError:
        return None


def verify_signature(secret: str, body: bytes, header: str, *, tolerance_s: int = TOLERANCE_S,
                     now: float | None = None) -> bool:
    """Receiver side, legacy ``v1`` check: origin and freshness only (constant-time). It does not cover the nonce
    or the idempotency key, so a captured delivery replays within the tolerance; use :func:`verify_delivery`."""
    parts = _parse(header)
    if parts is None or not _TS.fullmatch(ts := parts.get("t", "")) or "v1" not in parts:
        return False
    if abs((time.time() if now is None else now) - int(ts)) > tolerance_s:
        return False
    return hmac.compare_digest(_hmac(secret, f"{ts}.".encode() + body), parts["v1"])


def verify_delivery(secret: str, headers: Mapping[str, str], body: bytes, *,
                    seen_nonce: Callable[[str], bool] | None, now: float | None = None,
                    tolerance_s: int = TOLERANCE_S) -> bool:
    """Receiver side: is this delivery from Bastion, fresh, and not a replay?

    Checks, in order: the timestamp is within ``tolerance_s`` of ``now``; ``v2`` is the HMAC over timestamp, nonce,
    ``Idempotency-Key`` and body (constant-time); and only then ``seen_nonce(nonce)``, which must record the nonce
    and say whether it had been seen before (:class:`NonceCache`, or a shared store for several receiver
    processes) - a replay of a captured delivery is refused. ``seen_nonce=None`` skips the replay check.
    A retry of the same effect has a new nonce and passes; dedupe those by ``Idempotency-Key``."""
    lower = {k.lower(): v for k, v in headers.items()}
    parts = _parse(lower.get(SIGNATURE_HEADER.lower(), ""))
    key = lower.get(IDEMPOTENCY_HEADER.lower())
    if parts is None or not key or "v2" not in parts:
        return False
    ts, nonce = parts.get("t", ""), parts.get("n", "")
    if not _TS.fullmatch(ts) or not _NONCE.fullmatch(nonce):
        return False
    if abs((time.time() if now is None else now) - int(ts)) > tolerance_s:
        return False
    if not hmac.compare_digest(_hmac(secret, signed_payload_v2(ts, nonce, key, body)), parts["v2"]):
        return False
    return seen_nonce is None or not seen_nonce(nonce)


class NonceCache:
    """Receiver side: the nonces seen in the last ``ttl_s`` seconds, in this process's memory - the ``seen_nonce``
    of :func:`verify_delivery`. ``cache(nonce)`` records the nonce and says whether it was already there.

    The default ``ttl_s`` is twice the tolerance: a delivery is accepted until ``t + tolerance`` and first seen no
    earlier than ``t - tolerance``, so its nonce is remembered for as long as a replay could pass the time check.
    Only verified nonces reach it, so it cannot be filled by forgeries. Receivers with several processes need a
    shared store instead (e.g. Redis ``SET webhook-nonce:<n> 1 NX EX 600``)."""

    def __init__(self, ttl_s: float = 2 * TOLERANCE_S, *, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, nonce: str) -> bool:
        now = self.clock()
        with self._lock:
            while self._expiry and next(iter(self._expiry.values())) <= now:
                self._expiry.popitem(last=False)
            if nonce in self._expiry:
                return True
            self._expiry[nonce] = now + self.ttl_s
            return False

    def __len__(self) -> int:
        return len(self._expiry)


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
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, legacy_v1: bool = True) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret")
        self.engine, self.url, self.secret = engine, url, secret
        self.max_attempts, self.base_delay_s, self.max_delay_s = max_attempts, base_delay_s, max_delay_s
        self.client = client or httpx.Client(timeout=timeout_s)
        self.sleep, self.clock, self.legacy_v1 = sleep, clock, legacy_v1

    def backoff(self, attempt: int) -> float:
        delay: float = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return delay * (0.5 + random.random() / 2)

    def _send(self, decision_id: str, body: bytes) -> tuple[bool, bool, str]:
        """Returns (delivered, retryable, error). Every attempt is signed afresh: same Idempotency-Key, new nonce
        and timestamp, so a receiver's nonce check refuses replays but lets retries through."""
        signature = sign(self.secret, body, int(self.clock()), secrets.token_hex(16), decision_id,
                         legacy_v1=self.legacy_v1)
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: decision_id, SIGNATURE_HEADER: signature}
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
            with self.engine.begin() as conn, tracked(conn, o, [decision_id]):
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
            with self.engine.begin() as conn, tracked(conn, o, [decision_id]):
                conn.execute(update(o).where(o.c.decision_id == decision_id).values(**values))
        return stats
