"""Security cases: escalated threats, their evidence bundles and their chain of custody.

Why a case and not a review job: a threat against people is worked by the security team with law
enforcement, under an SLA, and everything in it may end up in court. So a case keeps an evidence bundle of
content-addressed blobs (the post and its media, the author's profile and recent posts, the thread, related
campaign posts, every detector output) in the shared :class:`~bastion.audit.evidence.EvidenceStore`, and a
per-case hash-chained custody log records who created, added to, viewed, exported, held or purged it and
when. A legal hold keeps everything however long it takes; without one, evidence is kept for the retention
period after the content is removed (six months by default, EU Regulation 2021/784 Art. 6) and then purged,
with an audit entry. All times come from an injectable clock.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select, update

from bastion.audit.evidence import DEFAULT_RETENTION, EvidenceStore
from bastion.audit.log import AuditLog
from bastion.errors import NotFound
from bastion.store.attest import tracked
from bastion.store.threats import threat_case_items, threat_cases, threat_custody
from bastion.threats.custody import append_custody, append_custody_many, custody_entries

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
QUEUE = "security"


def utcnow() -> datetime:
    return datetime.now(UTC)


def canonical(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True, slots=True)
class CaseItem:
    role: str  # post | media | profile | recent_post | thread | related | report_context | detector_output
    subject_id: str
    sha256: str
    media_type: str
    size: int
    added_at: datetime
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    queue: str
    status: str
    severity: float
    level: str
    assets: tuple[str, ...]
    hashtags: tuple[str, ...]
    subject_post_id: str
    subject_account_id: str | None
    created_at: datetime
    updated_at: datetime
    sla_due: datetime
    legal_hold: bool
    removed_at: datetime | None
    retain_until: datetime | None
    purged_at: datetime | None
    summary: Mapping[str, Any]
    items: tuple[CaseItem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        def ts(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "id": self.id,
            "queue": self.queue,
            "status": self.status,
            "severity": round(self.severity, 4),
            "level": self.level,
            "assets": list(self.assets),
            "hashtags": list(self.hashtags),
            "subject_post_id": self.subject_post_id,
            "subject_account_id": self.subject_account_id,
            "created_at": ts(self.created_at),
            "updated_at": ts(self.updated_at),
            "sla_due": ts(self.sla_due),
            "legal_hold": self.legal_hold,
            "removed_at": ts(self.removed_at),
            "retain_until": ts(self.retain_until),
            "purged_at": ts(self.purged_at),
            "summary": dict(self.summary),
            "items": [
                {
                    "role": i.role,
                    "subject_id": i.subject_id,
                    "sha256": i.sha256,
                    "media_type": i.media_type,
                    "size": i.size,
                    "added_at": ts(i.added_at),
                    "details": dict(i.details),
                }
                for i in self.items
            ],
        }


_LEVEL_ORDER = {"low": 0, "elevated": 1, "high": 2, "imminent": 3}


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One item of a case's evidence bundle, before it is stored."""

    role: str
    subject_id: str
    data: bytes
    media_type: str = "application/json"
    details: Mapping[str, Any] | None = None

    @classmethod
    def of_json(cls, role: str, subject_id: str, obj: Any, details: Mapping[str, Any] | None = None
                ) -> EvidenceItem:
        return cls(role, subject_id, canonical(obj), "application/json", details)


def shingles(folded_text: str, n: int = 5) -> list[str]:
    """Word n-gram hashes of a text: a post quoting a threat shares some with it."""
    words = [w for w in folded_text.split() if any(c.isalnum() for c in w)]
    grams = {" ".join(words[i : i + n]) for i in range(max(0, len(words) - n + 1))}
    return sorted(hashlib.sha256(g.encode()).hexdigest()[:16] for g in grams)


#: shingles a case keeps of the text it holds (the smallest, so every writer keeps the same ones)
FINGERPRINT_LIMIT = 5000


@dataclass(slots=True)
class OpenCase:
    """What :func:`match_open` reads of an open case: read once, and kept up to date in memory through a batch."""

    id: str
    subject_account_id: str | None
    assets: set[str]
    hashtags: set[str]
    fingerprint: set[str]

    @classmethod
    def of(cls, row: Any) -> OpenCase:
        return cls(str(row.id), row.subject_account_id, set(row.assets or ()), set(row.hashtags or ()),
                   set(row.fingerprint or ()))

    def grow(self, assets: Sequence[str], hashtags: Sequence[str], fingerprint: Sequence[str]) -> None:
        """As :meth:`CaseStore.update_case` grows the stored row."""
        self.assets |= set(assets)
        self.hashtags |= set(hashtags)
        self.fingerprint = set(sorted(self.fingerprint | set(fingerprint))[:FINGERPRINT_LIMIT])


def match_open(cases: Sequence[OpenCase], *, account_id: str | None, hashtags: Sequence[str],
               assets: Sequence[str], fingerprint: Sequence[str]) -> str | None:
    """The open case a post belongs to: the first (oldest) of the same author, else the first that shares quoted
    text with it, or a hashtag and the protected assets it names (any case, if it names none)."""
    if account_id:
        for c in cases:
            if c.subject_account_id == account_id:
                return c.id
    tags, owned, fp = set(hashtags), set(assets), set(fingerprint)
    for c in cases:
        if not fp.isdisjoint(c.fingerprint) or (
                not tags.isdisjoint(c.hashtags) and (not owned or not owned.isdisjoint(c.assets))):
            return c.id
    return None


class CaseStore:
    """Cases in the database. Every mutating method runs in one transaction with its custody entries."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utcnow,
        queue: str = QUEUE,
        sla_hours: float = 1.0,
        retention: timedelta = DEFAULT_RETENTION,
        group_window: timedelta = timedelta(days=14),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.queue = queue
        self.sla = timedelta(hours=sla_hours)
        self.retention = retention
        self.group_window = group_window
        self.evidence = EvidenceStore(engine, retention=retention)

    # --- creating and growing cases ---------------------------------------------------------------------
    def find_open(
        self,
        conn: Connection,
        *,
        account_id: str | None,
        hashtags: Iterable[str],
        assets: Iterable[str],
        fingerprint: Iterable[str] = (),
    ) -> str | None:
        """An open case this post belongs to: same author, or a shared hashtag or quoted text about the
        same protected assets, within the grouping window."""
        return match_open([OpenCase.of(r) for r in self.open_cases(conn)], account_id=account_id,
                          hashtags=list(hashtags), assets=list(assets), fingerprint=list(fingerprint))

    def open_cases(self, conn: Connection) -> Sequence[Any]:
        """The open cases within the grouping window, oldest first (for :func:`match_open`)."""
        since = self.clock() - self.group_window
        return conn.execute(
            select(threat_cases)
            .where(threat_cases.c.status == "open", threat_cases.c.updated_at >= since)
            .order_by(threat_cases.c.created_at)
        ).all()

    def open_case(
        self,
        conn: Connection,
        *,
        post_id: str,
        account_id: str | None,
        severity: float,
        level: str,
        assets: Sequence[str],
        hashtags: Sequence[str],
        fingerprint: Sequence[str],
        actor: str,
        sla_hours: float | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> str:
        now = self.clock()
        case_id = (
            "C-"
            + now.strftime("%Y%m%d")
            + "-"
            + hashlib.sha256(f"{post_id}|{now.isoformat()}".encode()).hexdigest()[:10]
        )
        sla = timedelta(hours=sla_hours) if sla_hours is not None else self.sla
        with tracked(conn, threat_cases, [case_id]):
            conn.execute(
                threat_cases.insert().values(
                    id=case_id,
                    queue=self.queue,
                    status="open",
                    severity=severity,
                    level=level,
                    assets=list(assets),
                    hashtags=list(hashtags),
                    fingerprint=list(fingerprint),
                    subject_post_id=post_id,
                    subject_account_id=account_id,
                    created_at=now,
                    updated_at=now,
                    sla_due=now + sla,
                    legal_hold=False,
                    summary=dict(summary or {}),
                )
            )
        append_custody(
            conn,
            case_id,
            "created",
            actor,
            {"post_id": post_id, "severity": round(severity, 4), "level": level, "assets": list(assets)},
            now,
        )
        AuditLog().append(conn, "case.created", actor, case_id, {"post_id": post_id, "level": level}, now=now)
        log.info("security case %s opened for post %s (%s)", case_id, post_id, level)
        return case_id

    def update_case(
        self,
        conn: Connection,
        case_id: str,
        *,
        severity: float,
        level: str,
        assets: Sequence[str],
        hashtags: Sequence[str],
        fingerprint: Sequence[str],
        actor: str,
        post_id: str,
    ) -> None:
        row = conn.execute(select(threat_cases).where(threat_cases.c.id == case_id)).one()
        new_level = level if _LEVEL_ORDER.get(level, 0) > _LEVEL_ORDER.get(row.level, 0) else row.level
        now = self.clock()
        with tracked(conn, threat_cases, [case_id]):
            conn.execute(
                update(threat_cases)
                .where(threat_cases.c.id == case_id)
                .values(
                    severity=max(float(row.severity), severity),
                    level=new_level,
                    assets=sorted(set(row.assets) | set(assets)),
                    hashtags=sorted(set(row.hashtags) | set(hashtags)),
                    fingerprint=sorted(set(row.fingerprint) | set(fingerprint))[:FINGERPRINT_LIMIT],
                    updated_at=now,
                )
            )
        append_custody(conn, case_id, "updated", actor, {"post_id": post_id, "level": new_level}, now)

    def add_item(
        self,
        conn: Connection,
        case_id: str,
        role: str,
        subject_id: str,
        data: bytes,
        media_type: str,
        *,
        actor: str,
        details: Mapping[str, Any] | None = None,
        legal_hold: bool = False,
    ) -> str:
        now = self.clock()
        sha = self.evidence.put(
            data,
            media_type,
            subject_kind="case",
            subject_id=case_id,
            role=role,
            legal_hold=legal_hold,
            now=now,
            conn=conn,
        )
        exists = conn.execute(
            select(threat_case_items.c.seq).where(
                threat_case_items.c.case_id == case_id,
                threat_case_items.c.role == role,
                threat_case_items.c.sha256 == sha,
            )
        ).first()
        if exists is None:
            with tracked(conn, threat_case_items):
                conn.execute(
                    threat_case_items.insert().values(
                        case_id=case_id,
                        role=role,
                        subject_id=subject_id,
                        sha256=sha,
                        media_type=media_type,
                        size=len(data),
                        added_at=now,
                        details=dict(details or {}),
                    )
                )
            append_custody(
                conn, case_id, "item_added", actor, {"role": role, "subject_id": subject_id, "sha256": sha}, now
            )
        return sha

    def add_items(self, conn: Connection, case_id: str, items: Sequence[EvidenceItem], *, actor: str) -> list[str]:
        """:meth:`add_item` for many items of one case: the same rows, blobs and custody entries, in order, from
        a handful of statements instead of seven per item."""
        now = self.clock()
        blobs = [(it.data, it.media_type, "case", case_id, it.role) for it in items]
        shas = self.evidence.put_many(conn, blobs, now=now)
        present = {(r.role, r.sha256) for r in conn.execute(
            select(threat_case_items.c.role, threat_case_items.c.sha256)
            .where(threat_case_items.c.case_id == case_id, threat_case_items.c.sha256.in_(set(shas))))}
        rows: list[dict[str, Any]] = []
        custody: list[tuple[str, str, Mapping[str, Any]]] = []
        for it, sha in zip(items, shas, strict=True):
            if (it.role, sha) in present:
                continue
            present.add((it.role, sha))
            rows.append({"case_id": case_id, "role": it.role, "subject_id": it.subject_id, "sha256": sha,
                         "media_type": it.media_type, "size": len(it.data), "added_at": now,
                         "details": dict(it.details or {})})
            custody.append(("item_added", actor, {"role": it.role, "subject_id": it.subject_id, "sha256": sha}))
        if rows:
            with tracked(conn, threat_case_items):
                conn.execute(threat_case_items.insert(), rows)
            append_custody_many(conn, case_id, custody, now)
        return shas

    def add_json(
        self,
        conn: Connection,
        case_id: str,
        role: str,
        subject_id: str,
        obj: Any,
        *,
        actor: str,
        details: Mapping[str, Any] | None = None,
    ) -> str:
        return self.add_item(
            conn, case_id, role, subject_id, canonical(obj), "application/json", actor=actor, details=details
        )

    # --- reading -------------------------------------------------------------------------------------------
    def get(self, case_id: str, *, actor: str | None = None) -> Case:
        """Load a case with its items; with ``actor``, the viewing is recorded in the custody log."""
        with self.engine.begin() as conn:
            row = conn.execute(select(threat_cases).where(threat_cases.c.id == case_id)).first()
            if row is None:
                raise NotFound(f"no case {case_id}")
            items = conn.execute(
                select(threat_case_items)
                .where(threat_case_items.c.case_id == case_id)
                .order_by(threat_case_items.c.seq)
            ).all()
            if actor:
                append_custody(conn, case_id, "viewed", actor, {}, self.clock())
        return _case(row, items)

    def list_cases(self, *, status: str | None = None, queue: str | None = None) -> list[Case]:
        stmt = select(threat_cases).order_by(threat_cases.c.sla_due)
        if status:
            stmt = stmt.where(threat_cases.c.status == status)
        if queue:
            stmt = stmt.where(threat_cases.c.queue == queue)
        with self.engine.connect() as conn:
            return [_case(r, ()) for r in conn.execute(stmt)]

    def custody(self, case_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return custody_entries(conn, case_id)

    def record(self, case_id: str, event: str, actor: str, details: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            append_custody(conn, case_id, event, actor, details, self.clock())

    # --- hold, removal, retention ------------------------------------------------------------------------------
    def set_legal_hold(self, case_id: str, on: bool, *, actor: str) -> None:
        case = self.get(case_id)
        now = self.clock()
        with self.engine.begin() as conn:
            with tracked(conn, threat_cases, [case_id]):
                conn.execute(update(threat_cases).where(threat_cases.c.id == case_id)
                             .values(legal_hold=on, updated_at=now))
            append_custody(conn, case_id, "legal_hold" if on else "legal_hold_released", actor, {}, now)
            AuditLog().append(conn, "case.legal_hold", actor, case_id, {"on": on}, now=now)
        for item in case.items:
            self.evidence.hold(item.sha256, on)

    def content_removed(self, case_id: str, *, actor: str) -> datetime:
        """The threatening content was taken down: the retention period starts now."""
        now = self.clock()
        until = now + self.retention
        with self.engine.begin() as conn:
            with tracked(conn, threat_cases, [case_id]):
                conn.execute(
                    update(threat_cases)
                    .where(threat_cases.c.id == case_id)
                    .values(removed_at=now, retain_until=until, updated_at=now)
                )
            self.evidence.start_retention("case", case_id, now=now, conn=conn)
            append_custody(conn, case_id, "retention_started", actor, {"retain_until": until.isoformat()}, now)
        return until

    def purge_expired(self, *, actor: str = "retention") -> list[str]:
        """Purge cases past retention and not under legal hold: their blobs' bytes are dropped, hashes and
        the custody log stay, and the purge is audited."""
        now = self.clock()
        with self.engine.begin() as conn:
            due = [
                str(r.id)
                for r in conn.execute(
                    select(threat_cases.c.id).where(
                        threat_cases.c.legal_hold.is_(False),
                        threat_cases.c.purged_at.is_(None),
                        threat_cases.c.retain_until.is_not(None),
                        threat_cases.c.retain_until <= now,
                    )
                )
            ]
            for case_id in due:
                with tracked(conn, threat_cases, [case_id]):
                    conn.execute(
                        update(threat_cases)
                        .where(threat_cases.c.id == case_id)
                        .values(status="purged", purged_at=now, updated_at=now)
                    )
                append_custody(conn, case_id, "purged", actor, {"reason": "retention expired"}, now)
                AuditLog().append(conn, "case.purge", actor, case_id, {"reason": "retention expired"}, now=now)
        if due:
            self.evidence.purge_expired(now=now, actor=actor)
        return due


def _case(row: Any, items: Iterable[Any]) -> Case:
    return Case(
        id=row.id,
        queue=row.queue,
        status=row.status,
        severity=float(row.severity),
        level=row.level,
        assets=tuple(row.assets or ()),
        hashtags=tuple(row.hashtags or ()),
        subject_post_id=row.subject_post_id,
        subject_account_id=row.subject_account_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sla_due=row.sla_due,
        legal_hold=bool(row.legal_hold),
        removed_at=row.removed_at,
        retain_until=row.retain_until,
        purged_at=row.purged_at,
        summary=dict(row.summary or {}),
        items=tuple(
            CaseItem(i.role, i.subject_id, i.sha256, i.media_type, int(i.size), i.added_at, dict(i.details or {}))
            for i in items
        ),
    )


__all__ = ["QUEUE", "Case", "CaseItem", "CaseStore", "shingles", "threat_custody"]
