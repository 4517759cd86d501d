"""The security sink: the action sink the pipeline calls for ``escalate`` actions.

Given the decision, the post, its author and every signal, it opens a case in the security queue (or adds
the post to an open case it belongs to - same author, or the same hashtag or quoted text against the same
protected assets), fills its evidence bundle, and returns the action's extra parameters
``{"case_id", "severity", "assets"}``. :meth:`SecuritySink.observe` is for every post that did *not*
escalate: a post that reports on, quotes or shares a hashtag with an open case's threats is attached to that
case as context (news reports of a threat belong in the file, not in the queue).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, or_, select

from bastion.detector import PostContext
from bastion.records import Account, Post
from bastion.signals import Signal
from bastion.store.threats import threat_case_items
from bastion.text.normalize import fold
from bastion.threats.cases import CaseStore, Clock, EvidenceItem, OpenCase, match_open, shingles, utcnow

log = logging.getLogger(__name__)

RECENT_POSTS = 20
RELATED_POSTS = 50
RELATED_SCAN = 2000  # how many of the most recent posts are looked through for related ones
MAX_MEDIA_BYTES = 50 * 1024 * 1024


def record_json(obj: Any) -> Any:
    """A record as plain JSON data (datetimes as ISO 8601 with zone)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: record_json(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): record_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [record_json(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def _signals(signals: Mapping[str, Signal] | Sequence[Signal]) -> dict[str, Signal]:
    if isinstance(signals, Mapping):
        return dict(signals)
    return {s.name: s for s in signals}


def _severity(sigs: Mapping[str, Signal]) -> tuple[float, str, list[str]]:
    sev = sigs.get("threat_severity")
    if sev is None or not sev.ok:
        return 0.0, "low", []
    return sev.value, str(sev.details.get("level", "low")), [str(a) for a in sev.details.get("assets", [])]


def _unpack(
    post: Post | PostContext | None, author: Account | None, signals: Mapping[str, Signal] | Sequence[Signal]
) -> tuple[Post | None, Account | None, Mapping[str, Signal] | Sequence[Signal]]:
    if isinstance(post, PostContext):
        return post.post, post.author, post.signals
    return post, author, signals


def _observe_key(
    post: Post, signals: Mapping[str, Signal] | Sequence[Signal]
) -> tuple[dict[str, Signal], list[str], list[str], list[str]] | None:
    """What ties a post to an open case (its hashtags, the assets it names, its quoted text), or None."""
    sigs = _signals(signals)
    _, _, assets = _severity(sigs)
    fp = shingles(fold(post.text))
    tags = [fold(t) for t in post.hashtags]
    return (sigs, tags, assets, fp) if (tags or assets or fp) else None


class SecuritySink:
    """Creates and updates security cases. ``engine`` must be migrated (``open_engine``)."""

    name = "security"
    handles = frozenset({"escalate"})
    #: the runtime passes posts carrying this signal (or reporting on a threat) to :meth:`observe`
    observes = "threat"

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utcnow,
        sla_hours: float = 1.0,
        retention: timedelta | None = None,
        actor: str = "pipeline",
    ) -> None:
        kwargs: dict[str, Any] = {"clock": clock, "sla_hours": sla_hours}
        if retention is not None:
            kwargs["retention"] = retention
        self.cases = CaseStore(engine, **kwargs)
        self.engine = engine
        self.actor = actor
        self._has_posts = "posts" in inspect(engine).get_table_names()

    def perform(
        self,
        decision: Any,
        action: Any,
        post: Post | PostContext | None,
        author: Account | None = None,
        signals: Mapping[str, Signal] | Sequence[Signal] = (),
    ) -> dict[str, Any]:
        """Open or update the case for an escalated post; accepts the pipeline's ``PostContext`` or the
        post, author and signals separately."""
        item, author, signals = _unpack(post, author, signals)
        return {} if item is None else self._perform(decision, action, item, author, signals)

    def _perform(
        self,
        decision: Any,
        action: Any,
        post: Post,
        author: Account | None,
        signals: Mapping[str, Signal] | Sequence[Signal],
    ) -> dict[str, Any]:
        with self.engine.begin() as conn:
            return self._perform_in(conn, decision, action, post, author, signals, self._open_cases(conn))

    def perform_many(self, calls: Sequence[tuple[Any, Any, PostContext | Post | None]]) -> list[dict[str, Any]]:
        """:meth:`perform` for a batch's escalations, ``(decision, action, post)`` each: one transaction (one
        commit, one audit seal) and the open cases read once and kept up to date as the batch opens and grows
        them. The cases, evidence and custody entries are those :meth:`perform` one by one would write, in the
        same order. Raises if any escalation fails, with nothing written: the caller then goes one by one."""
        out: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            cases = self._open_cases(conn)
            for decision, action, post in calls:
                item, author, signals = _unpack(post, None, ())
                out.append({} if item is None else
                           self._perform_in(conn, decision, action, item, author, signals, cases))
        return out

    def _perform_in(
        self,
        conn: Connection,
        decision: Any,
        action: Any,
        post: Post,
        author: Account | None,
        signals: Mapping[str, Signal] | Sequence[Signal],
        cases: list[OpenCase],
    ) -> dict[str, Any]:
        """One escalation within ``conn``'s transaction; ``cases``: the open cases, read by the caller and kept
        up to date here as this escalation opens or grows one."""
        sigs = _signals(signals)
        severity, level, assets = _severity(sigs)
        fp = shingles(fold(post.text))
        tags = [fold(t) for t in post.hashtags]
        params = getattr(action, "params", {}) or {}
        sla = params.get("sla_hours")
        # escalated before (a rerun after a crash between this commit and the batch's, or a new policy
        # version deciding the same post): the case that holds it already has its evidence
        held = conn.execute(select(threat_case_items.c.case_id).where(
            threat_case_items.c.role == "post", threat_case_items.c.subject_id == post.id).limit(1)).scalar()
        if held is not None:
            return {"case_id": str(held), "severity": level, "assets": assets}
        case_id = match_open(cases, account_id=post.account_id, hashtags=tags, assets=assets, fingerprint=fp)
        common: dict[str, Any] = {"severity": severity, "level": level, "assets": assets, "hashtags": tags,
                                  "fingerprint": fp, "actor": self.actor}
        if case_id is None:
            case_id = self.cases.open_case(
                conn, post_id=post.id, account_id=post.account_id, **common,
                sla_hours=float(sla) if sla is not None else None,
                summary={"decision_id": getattr(decision, "id", None), "rule": getattr(action, "rule", None)},
            )
            # the newest case: last in creation order, as open_cases reads them
            cases.append(OpenCase(case_id, post.account_id, set(assets), set(tags), set(fp)))
        else:
            self.cases.update_case(conn, case_id, **common, post_id=post.id)
            next(c for c in cases if c.id == case_id).grow(assets, tags, fp)
        self._bundle(conn, case_id, post, author, sigs, decision)
        return {"case_id": case_id, "severity": level, "assets": assets}

    def _open_cases(self, conn: Connection) -> list[OpenCase]:
        return [OpenCase.of(r) for r in self.cases.open_cases(conn)]

    def observe(
        self,
        post: Post | PostContext,
        author: Account | None = None,
        signals: Mapping[str, Signal] | Sequence[Signal] = (),
    ) -> str | None:
        """Attach a non-escalated post to the open case it reports on or quotes; returns the case id."""
        item, author, signals = _unpack(post, author, signals)
        return None if item is None else self._observe(item, author, signals)

    def _observe(
        self, post: Post, author: Account | None, signals: Mapping[str, Signal] | Sequence[Signal]
    ) -> str | None:
        return self.observe_many([PostContext(post, author, _signals(signals))])[0]

    def observe_many(self, posts: Sequence[PostContext]) -> list[str | None]:
        """:meth:`observe` for a batch of posts: one transaction, the open cases read once, each case's new
        items written together."""
        out: list[str | None] = [None] * len(posts)
        todo = [(i, ctx, key) for i, ctx in enumerate(posts) if (key := _observe_key(ctx.post, ctx.signals))]
        if not todo:
            return out
        with self.engine.begin() as conn:
            rows = self._open_cases(conn)
            if not rows:
                return out
            by_case: dict[str, list[EvidenceItem]] = {}
            for i, ctx, key in todo:
                found = self._attach_to_open(rows, ctx.post, ctx.author, *key)
                if found is not None:
                    out[i] = found[0]
                    by_case.setdefault(found[0], []).append(found[1])
            for case_id, items in by_case.items():
                self.cases.add_items(conn, case_id, items, actor=self.actor)
        return out

    def _attach_to_open(self, rows: Sequence[OpenCase], post: Post, author: Account | None,
                        sigs: Mapping[str, Signal], tags: list[str], assets: list[str], fp: list[str]
                        ) -> tuple[str, EvidenceItem] | None:
        case_id = match_open(rows, account_id=None, hashtags=tags, assets=assets, fingerprint=fp)
        if case_id is None:
            return None
        threat = sigs.get("threat")
        reporting = bool(threat is not None and threat.details.get("reporting"))
        role = "report_context" if reporting else "related"
        return case_id, EvidenceItem.of_json(role, post.id, {
            "post": record_json(post),
            "author": record_json(author),
            "signals": {k: s.to_json() for k, s in sigs.items()},
        }, {"reporting": reporting})

    # --- the evidence bundle --------------------------------------------------------------------------------
    def _bundle(
        self,
        conn: Connection,
        case_id: str,
        post: Post,
        author: Account | None,
        sigs: Mapping[str, Signal],
        decision: Any,
    ) -> None:
        item = EvidenceItem.of_json
        items = [item("post", post.id, record_json(post))]
        for media in post.media:
            data = _read_media(media.path)
            if data is not None:
                items.append(EvidenceItem("media", media.id, data, "application/octet-stream",
                                          {"media_id": media.id, "kind": str(media.kind)}))
            else:
                items.append(item("media", media.id, record_json(media), {"bytes": "unavailable"}))
        if author is not None:
            items.append(item("profile", author.id, record_json(author),
                              {"snapshot_at": self.cases.clock().isoformat()}))
        items.append(item("detector_output", post.id, {
            "signals": {k: s.to_json() for k, s in sigs.items()},
            "decision": record_json(decision.to_json()) if hasattr(decision, "to_json") else None,
        }))
        if self._has_posts:
            for role, rows in self._context(conn, post).items():
                items.extend(item(role, str(row["id"]), row) for row in rows)
        self.cases.add_items(conn, case_id, items, actor=self.actor)

    def _context(self, conn: Connection, post: Post) -> dict[str, list[dict[str, Any]]]:
        """Recent posts by the author, the thread around the post, and related campaign posts, from the
        store's ``posts`` table (whatever the pipeline has ingested)."""
        from bastion.store.schema import posts

        def rows(stmt: Any) -> list[dict[str, Any]]:
            return [record_json(dict(r._mapping)) for r in conn.execute(stmt)]

        out: dict[str, list[dict[str, Any]]] = {}
        out["recent_post"] = rows(
            select(posts)
            .where(posts.c.account_id == post.account_id, posts.c.id != post.id)
            .order_by(posts.c.created_at.desc())
            .limit(RECENT_POSTS)
        )
        out["thread"] = rows(thread_query(post))
        related: list[dict[str, Any]] = []
        if post.hashtags:
            wanted = {fold(t) for t in post.hashtags}
            # the recent posts' hashtags alone, then the whole rows of the related ones: reading and decoding
            # whole rows of 2,000 posts cost an escalation more than everything else it does
            cand = conn.execute(
                select(posts.c.id, posts.c.hashtags)
                .where(posts.c.id != post.id, posts.c.account_id != post.account_id)
                .order_by(posts.c.created_at.desc())
                .limit(RELATED_SCAN)
            )
            ids = list(islice((r.id for r in cand if wanted & {fold(str(t)) for t in (r.hashtags or [])}),
                              RELATED_POSTS))
            if ids:
                found = {r.id: r for r in conn.execute(select(posts).where(posts.c.id.in_(ids)))}
                related = [record_json(dict(found[i]._mapping)) for i in ids]
        out["related"] = related
        return out


def thread_query(post: Post) -> Any:
    """The posts around ``post``: those it replies to, quotes or reposts, and the replies to it (through the
    ``reply_to`` index), in time order - which rows, and their order, must not depend on the query plan."""
    from bastion.store.schema import posts

    ids = [i for i in (post.reply_to, post.quote_of, post.repost_of) if i]
    return (select(posts).where(or_(posts.c.id.in_(ids), posts.c.reply_to == post.id))
            .order_by(posts.c.created_at, posts.c.id).limit(RECENT_POSTS))


def _read_media(path: str | None) -> bytes | None:
    if not path:
        return None
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size <= MAX_MEDIA_BYTES:
            return p.read_bytes()
    except OSError:
        log.warning("media file for evidence unreadable")
    return None
