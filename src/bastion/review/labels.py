"""Labelled examples for retraining: what people decided about posts, with provenance (issue #18).

One store (``bastion.store.labels``) is fed three ways and read by ``bastion labels export|stats``, training
and ``GET /v1/review/labels``:

* every human review decision on a post (:func:`record`, called in the decision's own transaction);
* every appeal outcome on a post (the same);
* imported files in the evaluation-corpus JSONL format (:func:`import_file`: ``id``, ``class``, ``text``,
  optional ``lang``, ``dataset`` and ``meta.account``).

**Conflicts** on one post resolve by one rule (:func:`effective`): a human decision made here beats an
imported label; among human decisions the later one wins, and at the same instant an appeal outcome beats a
review (an appeal outcome always beats the first review it contested, which came before it); among imports
the later import wins. Every row is kept: the rule chooses, it never deletes.

Review outcomes become labels as :data:`bastion.review.model.LABELS` says (``violating``, ``not_violating``,
``journalism``, ``counter_speech``); imported labels keep their corpus class. No reviewer and no author
identity is stored (``group_key`` is a keyed hash of the author for account-disjoint validation).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, desc, select

from bastion.errors import InputError
from bastion.store import schema as t
from bastion.store.api import review_decisions as R
from bastion.store.labels import labels as L

SOURCES = ("review", "appeal", "import")
_RANK = {"import": 0, "review": 1, "appeal": 2}
_GROUP_KEY = b"bastion-labels/1"


def group_key(account_id: str | None) -> str | None:
    """A keyed, one-way stand-in for the author: equal for one account, names no one."""
    if not account_id:
        return None
    return hashlib.blake2b(account_id.encode(), key=_GROUP_KEY, digest_size=12).hexdigest()


def _row_id(source: str, ref: str) -> str:
    return hashlib.sha256(f"{source}\x00{ref}".encode()).hexdigest()[:40]


def record(conn: Connection, *, post_id: str, label: str, source: str, ref: str, decided_at: datetime,
           queue: str | None = None, origin: str | None = None) -> bool:
    """Store a person's label on a stored post (within the caller's transaction); False when the post is not
    stored (nothing to learn from) or the label is already recorded."""
    if source not in SOURCES:
        raise ValueError(f"unknown label source {source!r}")
    rid = _row_id(source, ref)
    if conn.execute(select(L.c.id).where(L.c.id == rid)).first() is not None:
        return False
    post = conn.execute(select(t.posts.c.text, t.posts.c.lang, t.posts.c.account_id)
                        .where(t.posts.c.id == post_id)).first()
    if post is None:
        return False
    d = conn.execute(select(t.decisions.c.policy_version, t.decisions.c.versions)
                     .where(t.decisions.c.subject_kind == "post", t.decisions.c.subject_id == post_id)
                     .order_by(desc(t.decisions.c.created_at)).limit(1)).first()
    conn.execute(L.insert().values(
        id=rid, post_id=post_id, text=post.text or "", lang=post.lang, label=label, source=source, queue=queue,
        origin=origin, dataset=None, ref=ref[:300], decided_at=decided_at,
        policy_version=d.policy_version if d is not None else None,
        model_versions=_model_versions(d.versions) if d is not None else None,
        group_key=group_key(post.account_id), created_at=datetime.now(UTC)))
    return True


def _model_versions(versions: Any) -> dict[str, str] | None:
    """The detector and model versions a decision names (policy fields left out: they have their own)."""
    if not isinstance(versions, dict):
        return None
    out = {k: str(v) for k, v in versions.items() if not k.startswith("policy")}
    return out or None


def import_file(engine: Engine, path: Path, *, progress: Any = None) -> tuple[int, int, list[str]]:
    """Import labels in the evaluation-corpus JSONL format; returns (imported, already present, problems).
    A record without ``id``, ``class`` or ``text`` is reported by line and skipped; nothing else stops it."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    imported = present = 0
    problems: list[str] = []
    now = datetime.now(UTC)
    with fh, engine.begin() as conn:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = orjson.loads(raw)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
                pid, cls, text = rec.get("id"), rec.get("class"), rec.get("text")
                for name, value in (("id", pid), ("class", cls), ("text", text)):
                    if not isinstance(value, str) or not value:
                        raise ValueError(f"missing {name}")
            except (orjson.JSONDecodeError, ValueError) as exc:
                problems.append(f"{path.name}:{n}: {exc}")
                continue
            ref = f"{path.name}:{pid}"
            rid = _row_id("import", ref)
            if conn.execute(select(L.c.id).where(L.c.id == rid)).first() is not None:
                present += 1
                continue
            meta: dict[str, Any] = rec["meta"] if isinstance(rec.get("meta"), dict) else {}
            lang = rec.get("lang") if isinstance(rec.get("lang"), str) else None
            account = meta.get("account") if isinstance(meta.get("account"), str) else None
            conn.execute(L.insert().values(
                id=rid, post_id=str(pid), text=str(text), lang=lang, label=str(cls), source="import",
                queue=None, origin=None, dataset=str(rec.get("dataset") or path.stem)[:100], ref=ref[:300],
                decided_at=now, policy_version=None, model_versions=None, group_key=group_key(account),
                created_at=now))
            imported += 1
            if progress is not None:
                progress(1)
    return imported, present, problems


def backfill_reviews(engine: Engine) -> int:
    """Record labels for human decisions stored before the label store existed (each once)."""
    added = 0
    with engine.begin() as conn:
        rows = conn.execute(select(R).where(R.c.subject_kind == "post").order_by(R.c.created_at, R.c.id)).all()
        for r in rows:
            if not r.labels:
                continue
            added += record(conn, post_id=r.subject_id, label=str(r.labels[0]),
                            source="appeal" if r.appeal_id else "review", ref=r.id, decided_at=r.created_at,
                            queue=r.queue, origin=r.origin)
    return added


def _key(row: Any) -> tuple[int, datetime, int]:
    human = row.source != "import"
    return (1 if human else 0, row.decided_at, _RANK[row.source])


def effective(rows: Iterable[Any]) -> dict[str, Any]:
    """The label that counts for each post, by the documented rule."""
    best: dict[str, Any] = {}
    for r in rows:
        cur = best.get(r.post_id)
        if cur is None or _key(r) > _key(cur):
            best[r.post_id] = r
    return best


def _json(row: Any) -> dict[str, Any]:
    return {"id": row.post_id, "text": row.text, "lang": row.lang, "label": row.label, "class": row.label,
            "source": row.source, "queue": row.queue, "origin": row.origin, "dataset": row.dataset,
            "decided_at": row.decided_at.isoformat(), "policy_version": row.policy_version,
            "model_versions": row.model_versions, "group": row.group_key}


def iter_labels(engine: Engine, *, since: datetime | None = None, resolved: bool = True
                ) -> Iterator[dict[str, Any]]:
    """Labels as JSON objects (the corpus format plus provenance): one per post by the conflict rule, or
    every row (``resolved=False``)."""
    stmt = select(L).order_by(L.c.decided_at, L.c.id)
    if since is not None:
        stmt = stmt.where(L.c.decided_at >= since)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    chosen = effective(rows).values() if resolved else rows
    for r in sorted(chosen, key=lambda r: (r.decided_at, r.id)):
        yield _json(r)


def stats(engine: Engine) -> dict[str, Any]:
    """Counts of labels (every row and effective per post) by source, label and language."""
    with engine.connect() as conn:
        rows = conn.execute(select(L)).all()
    chosen = list(effective(rows).values())
    return {"rows": len(rows), "posts": len(chosen),
            "rows_by_source": dict(Counter(r.source for r in rows)),
            "by_label": dict(Counter(r.label for r in chosen)),
            "by_source": dict(Counter(r.source for r in chosen)),
            "by_lang": dict(Counter(r.lang or "und" for r in chosen)),
            "overridden": len(rows) - len(chosen)}
