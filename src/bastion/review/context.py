"""Everything a reviewer needs to decide one item, assembled from the store.

The item (post text, media), its signals with the matched spans to highlight, the rules and policy that
fired and the explanation, the author's profile and recent posts, reports and prior enforcement, and
related items (posts sharing a hashtag, the author's other open jobs). Personal data is cut to the role:
reviewers see the public profile; only the security team sees location, links and identifier counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from bastion.errors import NotFound
from bastion.review import enforce as fx
from bastion.review.model import Job
from bastion.review.queues import get_job
from bastion.store import schema as t

RELATED_WINDOW = timedelta(days=3)
PUBLIC_PROFILE = ("id", "handle", "display_name", "bio", "created_at", "followers", "following", "statuses",
                  "verified", "status", "status_changed_at", "first_post_at")
SECURITY_PROFILE = (*PUBLIC_PROFILE, "location", "links")


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    label: str | None = None  # the signal label of a matched span


@dataclass
class ItemContext:
    job: Job | None
    subject_kind: str
    subject_id: str
    post: dict[str, Any] | None
    segments: list[Segment]
    author: dict[str, Any] | None
    decision: dict[str, Any] | None
    signals: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    recent_posts: list[dict[str, Any]] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    enforcement: list[dict[str, Any]] = field(default_factory=list)
    #: the rules that routed the job here when they were about something else (a report about the post)
    route: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat()
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [clean(x) for x in v]
            return v

        out: dict[str, Any] = clean({"job": self.job.to_json() if self.job else None, "subject_kind": self.subject_kind,
                      "subject_id": self.subject_id, "post": self.post,
                      "segments": [{"text": s.text, "label": s.label} for s in self.segments],
                      "author": self.author, "decision": self.decision, "signals": self.signals,
                      "rules": self.rules, "recent_posts": self.recent_posts, "related": self.related,
                      "reports": self.reports, "enforcement": self.enforcement, "route": self.route})
        return out


def highlight(text: str, spans: list[dict[str, Any]]) -> list[Segment]:
    """Split ``text`` into plain and matched segments; overlapping spans merge (first label wins).

    The segments are rendered with autoescaping, so whatever the text contains shows as text.
    """
    good = sorted((int(s["start"]), int(s["end"]), str(s.get("label") or "match")) for s in spans
                  if isinstance(s.get("start"), int) and isinstance(s.get("end"), int)
                  and 0 <= s["start"] < s["end"] <= len(text))
    merged: list[list[Any]] = []
    for start, end, label in good:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, label])
    out: list[Segment] = []
    pos = 0
    for start, end, label in merged:
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(Segment(text[start:end], label))
        pos = end
    if pos < len(text) or not out:
        out.append(Segment(text[pos:]))
    return out


def _dict(row: Any, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = dict(row._mapping)
    return {k: m.get(k) for k in keys} if keys else m


def _latest_decision(conn: Connection, kind: str, sid: str, decision_id: str | None) -> dict[str, Any] | None:
    D = t.decisions
    stmt = select(D).where(D.c.id == decision_id) if decision_id else None
    row: Any = conn.execute(stmt).first() if stmt is not None else None
    if row is not None and row.subject_kind == "report":  # the report routed it; show the content's own
        row = None
    if row is None:
        row = conn.execute(select(D).where(D.c.subject_kind == kind, D.c.subject_id == sid)
                           .order_by(D.c.created_at.desc()).limit(1)).first()
    return _dict(row) if row is not None else None


def load(engine: Engine, *, job_id: str | None = None, subject_kind: str | None = None,
         subject_id: str | None = None, role: str = "reviewer", recent: int = 5, related: int = 8) -> ItemContext:
    job = get_job(engine, job_id) if job_id else None
    kind = job.subject_kind if job else subject_kind
    sid = job.subject_id if job else subject_id
    if not kind or not sid:
        raise NotFound("name a job or a subject")
    profile_keys = SECURITY_PROFILE if role == "security" else PUBLIC_PROFILE
    P, AC = t.posts, t.accounts
    with engine.connect() as conn:
        post = None
        account_id = sid if kind == "account" else None
        if kind == "post":
            prow = conn.execute(select(P).where(P.c.id == sid)).first()
            if prow is not None:
                post = _dict(prow, ("id", "account_id", "text", "created_at", "lang", "hashtags", "mentions",
                                    "urls", "media", "reply_to", "repost_of", "quote_of", "removed_at"))
                account_id = prow.account_id
        decision = _latest_decision(conn, kind, sid, job.decision_id if job else None)
        route: list[dict[str, Any]] = []
        if job and job.decision_id and (decision is None or decision["id"] != job.decision_id):
            routed = conn.execute(select(t.decisions.c.actions).where(t.decisions.c.id == job.decision_id)).scalar()
            route = list(routed or [])
        signals = list(decision["signals"]) if decision else []
        spans = [s for sig in signals for s in sig.get("spans", [])]
        segments = highlight(post["text"], spans) if post else []
        rules = [a for a in (decision["actions"] if decision else [])] + \
                [dict(a, shadow=True) for a in (decision["shadow_actions"] if decision else [])]
        author: dict[str, Any] | None = None
        if account_id:
            arow = conn.execute(select(AC).where(AC.c.id == account_id)).first()
            author = _dict(arow, profile_keys) if arow is not None else {"id": account_id}
            if role == "security" and arow is not None:
                author["identifiers"] = len(arow.identifiers or [])
        recent_posts = []
        if account_id:
            recent_posts = [_dict(r, ("id", "text", "created_at", "removed_at")) for r in conn.execute(
                select(P).where(P.c.account_id == account_id, P.c.id != sid)
                .order_by(P.c.created_at.desc().nulls_last()).limit(recent))]
        reports = [_dict(r, ("id", "reporter_kind", "reason", "created_at", "deadline")) for r in conn.execute(
            select(t.reports).where(t.reports.c.target_kind == kind, t.reports.c.target_id == sid)
            .order_by(t.reports.c.created_at))]
        enforcement = [_dict(r, ("seq", "action", "rule", "policy", "automated", "source", "created_at"))
                       for r in fx.active(conn, kind, sid)]
        rel = _related(conn, post, account_id, job, related)
    return ItemContext(job, kind, sid, post, segments, author, decision, signals, rules, recent_posts, rel,
                       reports, enforcement, route)


def _related(conn: Connection, post: dict[str, Any] | None, account_id: str | None, job: Job | None,
             limit: int) -> list[dict[str, Any]]:
    """Posts by others sharing a hashtag (newest first), and the author's other open jobs."""
    out: list[dict[str, Any]] = []
    P, J = t.posts, t.review_jobs
    tags = {str(h).lower() for h in (post or {}).get("hashtags") or []}
    if tags and post and post.get("created_at"):
        when = post["created_at"]  # posts within three days either side, by the indexed creation time
        window = conn.execute(select(P.c.id, P.c.account_id, P.c.text, P.c.hashtags, P.c.created_at)
                              .where(P.c.id != post["id"], P.c.created_at >= when - RELATED_WINDOW,
                                     P.c.created_at <= when + RELATED_WINDOW)
                              .order_by(P.c.created_at.desc()).limit(2000))
        for r in window:
            shared = tags & {str(h).lower() for h in (r.hashtags or [])}
            if shared:
                out.append({"kind": "post", "id": r.id, "account_id": r.account_id, "text": r.text[:280],
                            "why": "shares #" + ", #".join(sorted(shared)), "created_at": r.created_at})
                if len(out) >= limit:
                    break
    if account_id:
        for j in conn.execute(select(J.c.id, J.c.queue, J.c.subject_id).join(P, P.c.id == J.c.subject_id)
                              .where(P.c.account_id == account_id, J.c.state.in_(("open", "leased")),
                                     J.c.id != (job.id if job else "")).limit(limit)):
            out.append({"kind": "job", "id": j.id, "queue": j.queue, "subject_id": j.subject_id,
                        "why": "same author, also in review"})
    return out
