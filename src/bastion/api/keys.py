"""API keys: roles, creation, verification and revocation.

A key reads ``bst_<id>_<secret>``: the id (public, 12 hex) finds the row, the secret (256 random bits) is
checked against the stored SHA-256 of the whole key in constant time. Only the hash is stored, the key is
shown once. A fast hash is right here: the key is random, not a password, so there is nothing to guess.

Roles (least privilege; each route names the roles it admits):

* ``integrator`` - the platform's backend: ingest, verdicts, hash look-ups, appeals on users' behalf;
* ``reviewer`` - review queues, jobs and appeals, trends;
* ``security`` - security cases and their evidence;
* ``admin`` - keys, audit export, transparency reports, banks curation, labelled-data export.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select, update

from bastion.audit.log import AuditLog
from bastion.errors import InputError, NotFound
from bastion.store.api import api_keys, ui_sessions

PREFIX = "bst_"


class Role(StrEnum):
    INTEGRATOR = "integrator"
    REVIEWER = "reviewer"
    SECURITY = "security"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    name: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.role.value}:{self.name}"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InputError(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}") from None


def normalise_person(person: str | None) -> str | None:
    """A person's identifier as compared (trimmed, case-folded); None or blank: the key names no person."""
    if person is None or not person.strip():
        return None
    p = " ".join(person.split()).casefold()
    if len(p) > 100:
        raise InputError("person: at most 100 characters")
    return p


def create_key(engine: Engine, role: str, *, name: str | None = None, person: str | None = None,
               created_by: str = "cli", now: datetime) -> tuple[str, str]:
    """Create a key; returns (key id, the key). The key is not stored and cannot be shown again.

    ``person`` names who holds it (an employee id or e-mail, as the operator chooses): two keys naming one
    person are one reviewer for appeal independence."""
    r = parse_role(role)
    holder = normalise_person(person)
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    label = (name or f"{r.value}-{key_id}")[:100]
    with engine.begin() as conn:
        conn.execute(api_keys.insert().values(id=key_id, hash=_hash(key), role=r.value, name=label,
                                              person=holder, created_at=now, created_by=created_by))
        details: dict[str, Any] = {"role": r.value, "name": label}
        if holder:
            details["person"] = holder
        AuditLog().append(conn, "key.create", created_by, f"key:{key_id}", details, now=now)
    return key_id, key


def revoke_key(engine: Engine, key_id: str, *, actor: str, now: datetime) -> None:
    with engine.begin() as conn:
        n = conn.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                         .values(revoked_at=now)).rowcount
        if not n:
            raise NotFound(f"no active key {key_id}")
        ended = conn.execute(update(ui_sessions).where(ui_sessions.c.key_id == key_id, ui_sessions.c.ended_at.is_(None))
                             .values(ended_at=now)).rowcount
        AuditLog().append(conn, "key.revoke", actor, f"key:{key_id}", {"ui_sessions_ended": ended}, now=now)


def list_keys(engine: Engine) -> list[dict[str, Any]]:
    cols = [api_keys.c[k] for k in ("id", "role", "name", "person", "created_at", "created_by", "revoked_at",
                                    "last_used_at")]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(api_keys.c.created_at)).all()
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r._mapping.items()} for r in rows]


class KeyVerifier:
    """Checks keys against the store, caching good answers briefly so a busy integrator does not cost a
    database read per request. A revoked key stops working within ``ttl_s``."""

    def __init__(self, engine: Engine, *, ttl_s: float = 10.0, max_entries: int = 10_000) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def verify(self, key: str) -> Principal | None:
        if not key.startswith(PREFIX) or len(key) > 200:
            return None
        digest = _hash(key)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        key_id = key[len(PREFIX):].split("_", 1)[0]
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys.c.hash, api_keys.c.role, api_keys.c.name, api_keys.c.revoked_at)
                               .where(api_keys.c.id == key_id)).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.hash, digest):
            with self._lock:
                self._cache.pop(digest, None)
            return None
        principal = Principal(key_id, Role(row.role), row.name)
        with self.engine.begin() as conn:  # once per ttl per key: cheap, and shows stale keys to admins
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=datetime.now(UTC)))
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[digest] = (now, principal)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
