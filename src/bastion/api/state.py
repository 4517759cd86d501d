"""What one running server holds: its settings, the store, the one pipeline (behind a lock, since detectors
keep state), the key verifier and the rate limiter. Built once by ``create_app`` and passed to routes
through ``request.app.state.bastion`` - no module globals.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bastion.api.keys import KeyVerifier, Role
from bastion.errors import ConfigError
from bastion.pipeline.runtime import Pipeline, ScanStats
from bastion.settings import Settings

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _rate(spec: str, name: str) -> tuple[float, float]:
    try:
        rate, _, burst = spec.partition("/")
        return float(rate), float(burst or rate)
    except ValueError as exc:
        raise ConfigError(f"{name} must read RATE/BURST (requests per second / burst), got {spec!r}") from exc


@dataclass(frozen=True)
class ApiConfig:
    """Limits and UI behaviour. Defaults suit one server; ``from_env`` reads ``BASTION_API_*``."""

    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 20 << 20
    max_batch: int = 1000
    #: per-role token buckets (requests per second, burst)
    rates: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        Role.INTEGRATOR.value: (1000.0, 2000.0), Role.REVIEWER.value: (30.0, 120.0),
        Role.SECURITY.value: (30.0, 120.0), Role.ADMIN.value: (30.0, 120.0)})
    #: failed authentications per client address
    anon_rate: tuple[float, float] = (2.0, 30.0)
    session_ttl: timedelta = timedelta(hours=10)
    lease_ttl: timedelta = timedelta(minutes=15)
    media_root: str | None = None
    cookie_secure: bool | None = None  # None: Secure when the request came over https
    state_save_every_s: float = 300.0
    #: HMA clients admitted without a key, as HMA deployments admit them behind a gateway (off by default):
    #: from these networks (CIDRs) and/or bearing this header (name, value); both must hold when both are set
    hma_trusted_networks: tuple[str, ...] = ()
    hma_trusted_header: tuple[str, str] | None = field(default=None, repr=False)
    #: the role such a client acts with (integrator: hash and look up; admin: also curate banks)
    hma_trusted_role: str = "integrator"
    #: HMA's ``?url=`` on /h/hash, /m/lookup and bank content: fetched behind the SSRF guards of
    #: ``bastion.media.fetch`` (public addresses only unless ``media_fetch_private``; ``media_hosts``
    #: restricts the hosts)
    media_fetch: bool = True
    media_hosts: tuple[str, ...] = ()
    media_fetch_private: bool = False

    @classmethod
    def from_env(cls, **overrides: Any) -> ApiConfig:
        values: dict[str, Any] = {}
        env = os.environ
        if env.get("BASTION_API_MAX_BODY"):
            values["max_body_bytes"] = int(env["BASTION_API_MAX_BODY"])
        if env.get("BASTION_API_MAX_UPLOAD"):
            values["max_upload_bytes"] = int(env["BASTION_API_MAX_UPLOAD"])
        rates = cls().rates
        for role in Role:
            var = f"BASTION_API_RATE_{role.value.upper()}"
            if env.get(var):
                rates[role.value] = _rate(env[var], var)
        values["rates"] = rates
        if env.get("BASTION_MEDIA_ROOT"):
            values["media_root"] = env["BASTION_MEDIA_ROOT"]
        if env.get("BASTION_HMA_TRUSTED_NETWORKS"):
            values["hma_trusted_networks"] = tuple(
                n.strip() for n in env["BASTION_HMA_TRUSTED_NETWORKS"].split(",") if n.strip())
        if env.get("BASTION_HMA_TRUSTED_HEADER"):
            name, sep, value = env["BASTION_HMA_TRUSTED_HEADER"].partition(":")
            if not sep or not name.strip() or len(value.strip()) < 16:
                raise ConfigError("BASTION_HMA_TRUSTED_HEADER must read 'Header-Name:secret' with a secret of at "
                                  "least 16 characters")
            values["hma_trusted_header"] = (name.strip(), value.strip())
        if env.get("BASTION_HMA_TRUSTED_ROLE"):
            values["hma_trusted_role"] = env["BASTION_HMA_TRUSTED_ROLE"]
        if env.get("BASTION_MEDIA_FETCH"):
            values["media_fetch"] = env["BASTION_MEDIA_FETCH"].lower() not in ("0", "false", "no", "off")
        if env.get("BASTION_MEDIA_HOSTS"):
            values["media_hosts"] = tuple(h.strip() for h in env["BASTION_MEDIA_HOSTS"].split(",") if h.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        import ipaddress

        try:
            Role(self.hma_trusted_role)
        except ValueError:
            raise ConfigError(f"hma_trusted_role: unknown role {self.hma_trusted_role!r}") from None
        for n in self.hma_trusted_networks:
            try:
                ipaddress.ip_network(n, strict=False)
            except ValueError:
                raise ConfigError(f"hma_trusted_networks: not a network: {n!r}") from None


class RateLimiter:
    """Token buckets by key (thread-safe). ``take`` returns 0 when allowed, else seconds to wait."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: float) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:  # bounded memory under address churn
                self._buckets.clear()
            return (1.0 - tokens) / rate if rate > 0 else 60.0


@dataclass
class AppState:
    settings: Settings
    config: ApiConfig
    engine: Engine
    pipeline: Pipeline
    detectors: list[str]
    verifier: KeyVerifier
    limiter: RateLimiter = field(default_factory=RateLimiter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], datetime] = utc_now
    stats: ScanStats = field(default_factory=lambda: ScanStats(run_id="api_" + uuid.uuid4().hex[:16]))
    last_save: float = field(default_factory=time.monotonic)
    batcher: Any = None  # bastion.api.batcher.Batcher, set by create_app

    @property
    def webhook(self) -> bool:
        return bool(self.settings.webhook_url)

    def process(self, batch: Any) -> Any:
        """Run one batch through the pipeline (the batcher's worker calls this)."""
        with self.lock:
            decisions = self.pipeline.process(batch, self.stats)
            self.maybe_save_state()
        return decisions

    def maybe_save_state(self) -> None:
        """Snapshot detector state now and then (call with the pipeline lock held)."""
        if time.monotonic() - self.last_save >= self.config.state_save_every_s:
            self.last_save = time.monotonic()
            try:
                self.pipeline.save_state()
            except Exception as exc:
                log.error("saving detector state failed: %s", exc)
