"""The SQLite hot path of the write side: posts and decisions straight to driver tuples.

SQLAlchemy's row dicts and type processors cost more than SQLite's own insert for the small rows the pipeline
writes, so on SQLite the two tables written once per post skip them. The values are what SQLAlchemy would
store (UTC datetimes as naive ISO text, JSON as text), and each JSON column of a decision is serialised once,
in canonical form, for both the stored text and the content hash (``bastion.audit.decisions.content_hash``
gives the same hash from the row read back; a test holds the two to each other).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from bastion.canonical import canonical
from bastion.policy.model import Decision
from bastion.records import Media, Post
from bastion.store.driver import utc_text

POST_COLUMNS = ("id", "account_id", "text", "created_at", "lang", "hashtags", "mentions", "urls", "media",
                "reply_to", "repost_of", "quote_of", "source", "meta", "ingested_at", "digest")
DECISION_COLUMNS = ("id", "subject_kind", "subject_id", "account_id", "created_at", "policy", "policy_version",
                    "category", "enforced", "explanation", "scores", "labels", "actions", "shadow_actions",
                    "versions", "signals", "content_hash", "audit_seq")
_EMPTY = "[]"


def insert_sql(table: str, columns: tuple[str, ...], *, ignore: bool) -> str:
    return (f"INSERT {'OR IGNORE ' if ignore else ''}INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})")


def _list(values: tuple[str, ...]) -> str:
    return orjson.dumps(values).decode() if values else _EMPTY


def media_json(m: Media) -> dict[str, Any]:
    return {k: v for k, v in (("id", m.id), ("kind", m.kind.value), ("url", m.url), ("path", m.path),
                              ("md5", m.md5), ("sha256", m.sha256), ("pdq", m.pdq)) if v is not None}


def post_values(p: Post, ingested_at: str) -> tuple[Any, ...]:
    """One post as the driver's tuple, in ``POST_COLUMNS`` order."""
    media = orjson.dumps([media_json(m) for m in p.media]).decode() if p.media else _EMPTY
    meta = orjson.dumps(dict(p.meta), default=str).decode() if p.meta else None
    return (p.id, p.account_id, p.text, utc_text(p.created_at), p.lang, _list(p.hashtags), _list(p.mentions),
            _list(p.urls), media, p.reply_to, p.repost_of, p.quote_of, p.source, meta, ingested_at,
            p.content_digest())


class DecisionRows:
    """Decisions as driver tuples (without ``audit_seq``, appended once the batch's audit entry exists) with
    their content hashes. Decisions of one batch share their creation time, converted once."""

    def __init__(self) -> None:
        self._when: datetime | None = None
        self._iso = self._text = ""
        self._versions: tuple[Any, bytes] = (None, b"")  # the last versions mapping and its canonical form

    def __call__(self, d: Decision) -> tuple[tuple[Any, ...], str]:
        if d.created_at is not self._when:
            self._when, self._iso, self._text = d.created_at, d.created_at.isoformat(), utc_text(d.created_at) or ""
        scores = canonical(dict(d.scores)) if d.scores else b"{}"
        labels = canonical(list(d.labels)) if d.labels else b"[]"
        actions = canonical([a.to_json() for a in d.actions]) if d.actions else b"[]"
        shadow = canonical([a.to_json() for a in d.shadow_actions]) if d.shadow_actions else b"[]"
        if d.versions is not self._versions[0]:  # decisions without evidence share one versions mapping
            self._versions = (d.versions, canonical(dict(d.versions)))
        versions = self._versions[1]
        signals = canonical(list(d.signals)) if d.signals else b"[]"
        policy, policy_version = d.versions.get("policy", ""), d.versions.get("policy_version", "")
        frag = orjson.Fragment
        body = {"id": d.id, "subject_kind": d.subject_kind.value, "subject_id": d.subject_id,
                "account_id": d.account_id, "policy": policy, "policy_version": policy_version,
                "category": d.category, "enforced": d.enforced, "explanation": d.explanation,
                "scores": frag(scores), "labels": frag(labels), "actions": frag(actions),
                "shadow_actions": frag(shadow), "versions": frag(versions), "signals": frag(signals),
                "created_at": self._iso}
        digest = hashlib.sha256(canonical(body)).hexdigest()
        row = (d.id, d.subject_kind.value, d.subject_id, d.account_id, self._text, policy, policy_version,
               d.category, int(d.enforced), d.explanation, scores.decode(), labels.decode(), actions.decode(),
               shadow.decode(), versions.decode(), signals.decode(), digest)
        return row, digest
