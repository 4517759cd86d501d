"""The security team's view: cases about threats against staff and sites, and their evidence packages.

Cases belong to the threats capability (:mod:`bastion.threats.cases`): this module lists and opens them
for the queue and case pages (a viewing is recorded in the case's custody log), exports the threats
capability's referral package as one zip (so it verifies with ``bastion case verify`` once unpacked), and
opens a case when a reviewer escalates a post. Without the threats capability installed, escalations land
in the ``security`` review queue instead and there are no case pages.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from bastion.audit.log import AuditLog
from bastion.errors import NotFound
from bastion.store import schema as t

log = logging.getLogger(__name__)

CaseOpener = Callable[[Connection, str, str, str, str, datetime], str]


def _cases() -> Any:
    try:
        from bastion.threats import cases
    except ImportError:
        return None
    return cases


def _export() -> Any:
    try:
        from bastion.threats import export
    except ImportError:
        return None
    return export


def available() -> bool:
    return _cases() is not None


def _store(engine: Engine, now: datetime | None = None) -> Any:
    cases = _cases()
    if cases is None:
        raise NotFound("security cases are not installed (bastion.threats)")
    return cases.CaseStore(engine, clock=(lambda: now) if now else cases.utcnow)


def list_cases(engine: Engine, *, status: str | None = "open", limit: int = 200) -> list[dict[str, Any]]:
    if not available():
        return []
    store = _store(engine)
    lister = getattr(store, "list_cases", None) or store.list
    return [c.to_json() for c in lister(status=status)[:limit]]


def get_case(engine: Engine, case_id: str, *, actor: str | None = None,
             now: datetime | None = None) -> dict[str, Any]:
    """The case with its evidence items and custody log; with ``actor`` the viewing is put on record."""
    store = _store(engine, now)
    case: dict[str, Any] = store.get(case_id, actor=actor).to_json()
    case["custody"] = store.custody(case_id)
    return case


def export_case(engine: Engine, case_id: str, actor: str, now: datetime) -> bytes:
    """The referral package (``package.json``, ``report.html``, ``blobs/``, ``custody.jsonl``) as a zip,
    built by the threats capability; the export is in the custody log and the audit log."""
    export = _export()
    if export is None:
        raise NotFound("security cases are not installed (bastion.threats)")
    _store(engine).get(case_id)  # NotFound before any file is written
    with tempfile.TemporaryDirectory(prefix="bastion-case-") as tmp:
        dest = Path(export.export_case(engine, case_id, Path(tmp), actor=actor, clock=lambda: now))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in dest.rglob("*") if p.is_file()):
                zf.write(path, f"{dest.name}/{path.relative_to(dest).as_posix()}")
    data = buf.getvalue()
    with engine.begin() as conn:
        AuditLog().append(conn, "case.export", actor, f"case:{case_id}",
                          {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, now=now)
    return data


def open_case(conn: Connection, subject_kind: str, subject_id: str, actor: str, note: str,
              now: datetime) -> str:
    """Escalate a post to the security team: a case (with the post as evidence) when the threats
    capability is installed, else a job in the ``security`` review queue."""
    cases = _cases()
    post = None
    if subject_kind == "post":
        post = conn.execute(select(t.posts).where(t.posts.c.id == subject_id)).first()
    if cases is None or post is None:
        from bastion.review.decide import _security_job

        return _security_job(conn, subject_kind, subject_id, actor, note, now)
    store = cases.CaseStore(conn.engine, clock=lambda: now)
    tags = [str(h).lower() for h in (post.hashtags or [])]
    case_id = store.find_open(conn, account_id=post.account_id, hashtags=tags, assets=[])
    if case_id is None:
        case_id = store.open_case(conn, post_id=post.id, account_id=post.account_id, severity=0.5,
                                  level="elevated", assets=[], hashtags=tags, fingerprint=[], actor=actor,
                                  summary={"escalated_by_review": True, "note": note[:500]})
    store.add_json(conn, case_id, "post", post.id, {k: _plain(v) for k, v in post._mapping.items()}, actor=actor,
                   details={"escalated_by": actor})
    return str(case_id)


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def case_opener() -> CaseOpener:
    return open_case
