"""Content-addressed evidence: blobs keyed by SHA-256, linked to the subjects they document.

Blobs live in the database (portable across SQLite and PostgreSQL, backed up with everything else). A blob
under legal hold is never purged; otherwise it is kept until ``retain_until`` (six months after removal by
default, as the EU terrorist-content regulation requires) and then purged: its bytes are dropped, its hash
and metadata stay, and the purge is written to the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bastion.audit.log import AuditLog
from bastion.errors import IntegrityError, NotFound
from bastion.store.attest import tracked
from bastion.store.schema import evidence_blobs, evidence_refs

#: EU Regulation 2021/784 (TCO), Art. 6: removed content and related data are preserved for six months.
DEFAULT_RETENTION = timedelta(days=183)


@dataclass(frozen=True, slots=True)
class BlobInfo:
    sha256: str
    size: int
    media_type: str
    created_at: datetime
    legal_hold: bool
    retain_until: datetime | None
    purged_at: datetime | None


class EvidenceStore:
    def __init__(self, engine: Engine, *, retention: timedelta = DEFAULT_RETENTION) -> None:
        self.engine = engine
        self.retention = retention

    def put(self, data: bytes, media_type: str, *, subject_kind: str, subject_id: str, role: str,
            legal_hold: bool = False, retain_until: datetime | None = None, now: datetime | None = None,
            conn: Connection | None = None) -> str:
        """Store ``data`` (idempotent by content) and link it to a subject; return its SHA-256 hex."""
        if conn is None:
            with self.engine.begin() as c:
                return self.put(data, media_type, subject_kind=subject_kind, subject_id=subject_id, role=role,
                                legal_hold=legal_hold, retain_until=retain_until, now=now, conn=c)
        return self.put_many(conn, [(data, media_type, subject_kind, subject_id, role)], now=now or datetime.now(UTC),
                             legal_hold=legal_hold, retain_until=retain_until)[0]

    def put_many(self, conn: Connection, items: Sequence[tuple[bytes, str, str, str, str]], *, now: datetime,
                 legal_hold: bool = False, retain_until: datetime | None = None) -> list[str]:
        """Store ``(data, media_type, subject_kind, subject_id, role)`` items in a few statements: each blob once
        by content (a purged one kept again; ``legal_hold`` / ``retain_until`` set on new and existing blobs),
        each link once; returns the SHA-256 of each item in order."""
        shas = [hashlib.sha256(item[0]).hexdigest() for item in items]
        if not items:
            return shas
        with tracked(conn, evidence_blobs, shas), tracked(conn, evidence_refs):
            self._put_many(conn, items, shas, now=now, legal_hold=legal_hold, retain_until=retain_until)
        return shas

    @staticmethod
    def _put_many(conn: Connection, items: Sequence[tuple[bytes, str, str, str, str]], shas: list[str], *,
                  now: datetime, legal_hold: bool, retain_until: datetime | None) -> None:
        wanted = set(shas)
        existing = {r.sha256: r.purged_at for r in conn.execute(
            select(evidence_blobs.c.sha256, evidence_blobs.c.purged_at).where(evidence_blobs.c.sha256.in_(wanted)))}
        new: dict[str, dict[str, object]] = {}
        for sha, (data, media_type, *_rest) in zip(shas, items, strict=True):
            if sha in existing:
                values: dict[str, object] = {}
                if existing[sha] is not None:  # the same content came back: keep it again
                    values.update(data=data, purged_at=None)
                    existing[sha] = None
                if legal_hold:
                    values["legal_hold"] = True
                if retain_until is not None:
                    values["retain_until"] = retain_until
                if values:
                    conn.execute(update(evidence_blobs).where(evidence_blobs.c.sha256 == sha).values(**values))
            elif sha not in new:
                new[sha] = {"sha256": sha, "size": len(data), "media_type": media_type, "data": data,
                            "created_at": now, "legal_hold": legal_hold, "retain_until": retain_until}
        if new:
            conn.execute(evidence_blobs.insert(), list(new.values()))
        linked = {(r.sha256, r.subject_kind, r.subject_id, r.role) for r in conn.execute(
            select(evidence_refs.c.sha256, evidence_refs.c.subject_kind, evidence_refs.c.subject_id,
                   evidence_refs.c.role).where(evidence_refs.c.sha256.in_(wanted)))}
        links: list[dict[str, object]] = []
        for sha, (_data, _type, kind, subject, role) in zip(shas, items, strict=True):
            if (sha, kind, subject, role) not in linked:
                linked.add((sha, kind, subject, role))
                links.append({"sha256": sha, "subject_kind": kind, "subject_id": subject, "role": role,
                              "created_at": now})
        if links:  # a link another transaction made meanwhile is kept, not an error
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(insert(evidence_refs).on_conflict_do_nothing(), links)

    def get(self, sha: str) -> bytes:
        with self.engine.connect() as conn:
            row = conn.execute(select(evidence_blobs.c.data, evidence_blobs.c.purged_at)
                               .where(evidence_blobs.c.sha256 == sha)).first()
        if row is None:
            raise NotFound(f"no evidence blob {sha}")
        if row.data is None:
            raise NotFound(f"evidence blob {sha} was purged at {row.purged_at}")
        data = bytes(row.data)
        if hashlib.sha256(data).hexdigest() != sha:
            raise IntegrityError(f"evidence blob {sha} does not match its hash")
        return data

    def verify(self, sha: str) -> bool:
        try:
            self.get(sha)
        except (NotFound, IntegrityError):
            return False
        return True

    def info(self, sha: str) -> BlobInfo:
        with self.engine.connect() as conn:
            r = conn.execute(select(evidence_blobs).where(evidence_blobs.c.sha256 == sha)).first()
        if r is None:
            raise NotFound(f"no evidence blob {sha}")
        return BlobInfo(r.sha256, r.size, r.media_type, r.created_at, r.legal_hold, r.retain_until, r.purged_at)

    def hold(self, sha: str, on: bool = True) -> None:
        with self.engine.begin() as conn, tracked(conn, evidence_blobs, [sha]):
            n = conn.execute(update(evidence_blobs).where(evidence_blobs.c.sha256 == sha)
                             .values(legal_hold=on)).rowcount
            if not n:
                raise NotFound(f"no evidence blob {sha}")
            AuditLog().append(conn, "evidence.hold" if on else "evidence.release", "system", sha, {"on": on})

    def start_retention(self, subject_kind: str, subject_id: str, *, now: datetime | None = None,
                        conn: Connection | None = None) -> int:
        """The subject was removed: its evidence is kept for the retention period from now."""
        return self.start_retention_many(subject_kind, [subject_id], now=now, conn=conn)

    def start_retention_many(self, subject_kind: str, subject_ids: Sequence[str], *, now: datetime | None = None,
                             conn: Connection | None = None) -> int:
        """:meth:`start_retention` for many subjects of one kind at once (a batch's removals)."""
        if conn is None:
            with self.engine.begin() as c:
                return self.start_retention_many(subject_kind, subject_ids, now=now, conn=c)
        until = (now or datetime.now(UTC)) + self.retention
        shas = list(dict.fromkeys(r[0] for r in conn.execute(select(evidence_refs.c.sha256).where(
            evidence_refs.c.subject_kind == subject_kind, evidence_refs.c.subject_id.in_(list(subject_ids))))))
        with tracked(conn, evidence_blobs, shas):
            return int(conn.execute(update(evidence_blobs).where(
                evidence_blobs.c.sha256.in_(shas),
                (evidence_blobs.c.retain_until.is_(None)) | (evidence_blobs.c.retain_until < until))
                .values(retain_until=until)).rowcount) if shas else 0

    def purge_expired(self, *, now: datetime | None = None, actor: str = "retention") -> list[str]:
        """Drop the bytes of blobs past retention and not on legal hold; audit each purge."""
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            due = [r[0] for r in conn.execute(select(evidence_blobs.c.sha256).where(
                evidence_blobs.c.legal_hold.is_(False), evidence_blobs.c.purged_at.is_(None),
                evidence_blobs.c.retain_until.is_not(None), evidence_blobs.c.retain_until <= now))]
            if due:
                with tracked(conn, evidence_blobs, due):
                    conn.execute(update(evidence_blobs).where(evidence_blobs.c.sha256.in_(due))
                                 .values(data=None, purged_at=now))
                AuditLog().append_many(conn, [("evidence.purge", actor, sha, {"reason": "retention expired"})
                                              for sha in due], now=now)
        return due
