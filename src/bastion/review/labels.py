"""Reviewer decisions as labelled data for retraining.

One JSON object per reviewed post: its text and language, the label from the latest human decision on it
(an appeal's outcome supersedes the first review), the queue and the scores the detectors gave. No reviewer
names and no author profile: a training set needs neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from bastion.store import schema as t
from bastion.store.api import review_decisions as R


def iter_labels(engine: Engine, *, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    latest: dict[str, Any] = {}
    stmt = select(R).where(R.c.subject_kind == "post").order_by(R.c.created_at, R.c.id)
    if since is not None:
        stmt = stmt.where(R.c.created_at >= since)
    with engine.connect() as conn:
        for r in conn.execute(stmt):
            if r.labels:
                latest[r.subject_id] = r
        ids = list(latest)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            posts = {p.id: p for p in conn.execute(select(t.posts.c.id, t.posts.c.text, t.posts.c.lang)
                                                   .where(t.posts.c.id.in_(chunk)))}
            scores: dict[str, Any] = {}
            for d in conn.execute(select(t.decisions.c.subject_id, t.decisions.c.scores, t.decisions.c.created_at)
                                  .where(t.decisions.c.subject_kind == "post", t.decisions.c.subject_id.in_(chunk))
                                  .order_by(t.decisions.c.created_at)):
                scores[d.subject_id] = d.scores
            for pid in chunk:
                p = posts.get(pid)
                if p is None:
                    continue
                r = latest[pid]
                yield {"id": pid, "text": p.text, "lang": p.lang, "label": r.labels[0], "outcome": r.outcome,
                       "queue": r.queue, "origin": r.origin, "category": r.category,
                       "decided_at": r.created_at.isoformat(), "scores": scores.get(pid, {})}
