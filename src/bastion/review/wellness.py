"""Reviewer wellness: what each reviewer has been exposed to, and when to suggest a break.

Reviewers of terrorist content see material that harms with repetition. The UI blurs media until asked,
records each item shown and each medium revealed, shows the counts to the reviewer, and reminds them to take
a break after a stretch of continuous work or a number of revealed media. These are nudges and records for
supervisors, not hard stops: the work itself (removal orders with a one-hour deadline) must still flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from bastion.store.api import reviewer_exposure as E

#: Suggest a break after this much continuous work, or this many revealed media in a day.
BREAK_AFTER = timedelta(minutes=50)
MEDIA_DAILY_NUDGE = 40
KINDS = ("item", "media_reveal", "break")


@dataclass(frozen=True, slots=True)
class Exposure:
    items_today: int
    media_today: int
    breaks_today: int
    last_break: datetime | None

    def needs_break(self, session_start: datetime, now: datetime) -> bool:
        since = max(session_start, self.last_break) if self.last_break else session_start
        return now - since >= BREAK_AFTER or self.media_today >= MEDIA_DAILY_NUDGE

    def to_json(self) -> dict[str, Any]:
        return {"items_today": self.items_today, "media_today": self.media_today,
                "breaks_today": self.breaks_today,
                "last_break": self.last_break.isoformat() if self.last_break else None}


def record(engine: Engine, actor: str, kind: str, subject: str | None, now: datetime,
           seconds: int | None = None) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown exposure kind {kind!r}")
    with engine.begin() as conn:
        conn.execute(E.insert().values(actor=actor, kind=kind, subject=(subject or "")[:300], created_at=now,
                                       seconds=seconds))


def today(engine: Engine, actor: str, now: datetime) -> Exposure:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with engine.connect() as conn:
        rows = conn.execute(select(E.c.kind, func.count()).where(E.c.actor == actor, E.c.created_at >= start)
                            .group_by(E.c.kind)).all()
        counts: dict[str, int] = {str(k): int(n) for k, n in rows}
        last = conn.execute(select(func.max(E.c.created_at)).where(E.c.actor == actor, E.c.kind == "break",
                                                                    E.c.created_at >= start)).scalar()
    return Exposure(int(counts.get("item", 0)), int(counts.get("media_reveal", 0)), int(counts.get("break", 0)),
                    last)


def team(engine: Engine, since: datetime) -> list[dict[str, Any]]:
    """Per-reviewer counts since a time, for supervisors (admin) watching load across the team."""
    with engine.connect() as conn:
        rows = conn.execute(select(E.c.actor, E.c.kind, func.count()).where(E.c.created_at >= since)
                            .group_by(E.c.actor, E.c.kind)).all()
    by: dict[str, dict[str, Any]] = {}
    for actor, kind, n in rows:
        by.setdefault(actor, {"actor": actor, "item": 0, "media_reveal": 0, "break": 0})[kind] = int(n)
    return sorted(by.values(), key=lambda r: -int(r["media_reveal"]))
