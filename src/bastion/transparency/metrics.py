"""Transparency figures, computed from the enforcement ledger, reports, appeals and reviewer decisions.

What a platform has to publish about its fight against terrorist content (EU Regulation 2021/784 Art. 7,
DSA Art. 15 and 24), measured, never typed in:

* removals and suspensions by policy rule and by detection source (the signal the rule keys on, or human
  review);
* the share of enforcement surfaced by automated tools versus user reports, trusted flaggers and
  authorities;
* the share of suspended accounts suspended before their first post;
* time to action: from the report (for reported content) or from when the content reached us (for
  proactive detection) to the removal, with the share within one hour - the regulation's limit for
  removal orders, reported on its own for those;
* appeals and how many were overturned; reviewer throughput and time in queue.

Times are taken from the store, so a report over a replayed historical data set measures the replay.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from bastion.policy.model import Condition, Policy
from bastion.store import schema as t
from bastion.store.api import appeals, review_decisions

REMOVE, SUSPEND = "remove_post", "suspend_account"
BUCKETS: tuple[tuple[str, float], ...] = (("≤ 1 min", 60), ("≤ 10 min", 600), ("≤ 1 h", 3600),
                                          ("≤ 24 h", 86_400), ("> 24 h", float("inf")))
SOURCES = ("automated", "user_report", "trusted_flagger", "authority")


def _share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def rule_signals(policy: Policy | None) -> dict[str, str]:
    """rule id -> the first signal its condition requires to be high (the detection source)."""
    out: dict[str, str] = {}

    def first(c: Condition, negated: bool = False) -> str | None:
        if c.op == "signal" and not negated and c.cmp in (None, "gte", "gt"):
            return c.signal
        if c.op == "reporter" and not negated:
            return f"{c.value} report"
        for child in c.children:
            found = first(child, negated ^ (c.op == "not"))
            if found:
                return found
        return None

    for rule in policy.rules if policy else ():
        sig = first(rule.when)
        if sig:
            out[rule.id] = sig
    return out


@dataclass
class Report:
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at.isoformat(),
                "period": {"since": self.since.isoformat() if self.since else None,
                           "until": self.until.isoformat() if self.until else None}, **self.data}


def _window(col: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    conds = []
    if since is not None:
        conds.append(col >= since)
    if until is not None:
        conds.append(col <= until)
    return conds


def compute(engine: Engine, *, since: datetime | None = None, until: datetime | None = None,
            policy_path: str | None = None, now: datetime | None = None) -> Report:
    from bastion.policy.loader import load_policy

    try:
        policy: Policy | None = load_policy(policy_path)
    except Exception:
        policy = None
    sources = rule_signals(policy)
    report = Report(now or datetime.now(UTC), since, until)
    L = t.ledger
    with engine.connect() as conn:
        rows = conn.execute(select(L).where(L.c.action.in_((REMOVE, SUSPEND, "detrend_hashtag", "restrict_hashtag")),
                                            *_window(L.c.created_at, since, until)).order_by(L.c.seq)).all()
        first_reports = dict(conn.execute(select(t.reports.c.target_id, func.min(t.reports.c.created_at))
                                          .group_by(t.reports.c.target_id)).all())
        order_targets = {r[0] for r in conn.execute(select(t.reports.c.target_id)
                                                    .where(t.reports.c.reporter_kind == "authority"))}
        removed_ids = [r.target_id for r in rows if r.action == REMOVE]
        ingested: dict[str, datetime] = {}
        for i in range(0, len(removed_ids), 500):
            ingested.update(conn.execute(select(t.posts.c.id, t.posts.c.ingested_at)
                                         .where(t.posts.c.id.in_(removed_ids[i:i + 500]))).all())
        A = t.accounts
        suspended = conn.execute(select(A.c.status_changed_at, A.c.first_post_at).where(
            A.c.status == "suspended", *_window(A.c.status_changed_at, since, until))).all()
        totals = {"posts": conn.execute(select(func.count()).select_from(t.posts)
                                        .where(*_window(t.posts.c.ingested_at, since, until))).scalar_one(),
                  "decisions": conn.execute(select(func.count()).select_from(t.decisions)
                                            .where(*_window(t.decisions.c.created_at, since, until))).scalar_one(),
                  "review_jobs": conn.execute(select(func.count()).select_from(t.review_jobs)
                                              .where(*_window(t.review_jobs.c.created_at, since, until))).scalar_one()}
        appeal_rows = conn.execute(select(appeals.c.state, appeals.c.outcome)
                                   .where(*_window(appeals.c.created_at, since, until))).all()
        reviews = conn.execute(select(review_decisions.c.actor, review_decisions.c.outcome,
                                      review_decisions.c.created_at, review_decisions.c.queue)
                               .where(*_window(review_decisions.c.created_at, since, until))).all()
        queue_times = [(r.decided_at - r.created_at).total_seconds() for r in conn.execute(
            select(t.review_jobs.c.created_at, t.review_jobs.c.decided_at).where(
                t.review_jobs.c.decided_at.is_not(None), *_window(t.review_jobs.c.decided_at, since, until)))]

    enforcing = [r for r in rows if r.action in (REMOVE, SUSPEND)]
    totals.update(removals=sum(r.action == REMOVE for r in enforcing),
                  suspensions=sum(r.action == SUSPEND for r in enforcing),
                  hashtag_restrictions=sum(r.action not in (REMOVE, SUSPEND) for r in rows),
                  reversed=sum(r.reversed_at is not None for r in enforcing))
    report.data["totals"] = totals
    report.data["by_rule"] = _by_rule(enforcing, sources)
    by_source: Counter[str] = Counter()
    for r in enforcing:
        by_source[_detection_source(r, sources)] += 1
    report.data["by_detection_source"] = [{"source": k, "count": n, "share": _share(n, len(enforcing))}
                                          for k, n in by_source.most_common()]
    surfaced = Counter(r.source if r.source in SOURCES else "automated" for r in enforcing)
    report.data["surfaced_by"] = [{"source": s, "count": surfaced.get(s, 0),
                                   "share": _share(surfaced.get(s, 0), len(enforcing))} for s in SOURCES]
    report.data["suspended_before_first_post"] = _before_first_post(suspended)
    report.data["time_to_action"] = _time_to_action(enforcing, first_reports, ingested, order_targets)
    decided = [a for a in appeal_rows if a.state == "decided"]
    overturned = sum(a.outcome == "overturned" for a in decided)
    report.data["appeals"] = {"filed": len(appeal_rows), "decided": len(decided), "overturned": overturned,
                              "upheld": len(decided) - overturned,
                              "appeal_rate": _share(len(appeal_rows), len(enforcing)),
                              "overturn_rate": _share(overturned, len(decided))}
    report.data["review"] = _throughput(reviews, queue_times)
    from bastion.text.registry import in_use

    report.data["text_model"] = in_use(engine)
    return report


def _detection_source(r: Any, sources: dict[str, str]) -> str:
    if not r.automated:
        return "human review"
    return sources.get(str(r.rule).split("@", 1)[0], str(r.rule).split("@", 1)[0])


def _by_rule(rows: list[Any], sources: dict[str, str]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(r.action, str(r.rule).split("@", 1)[0], str(r.policy))].append(r)
    out = [{"action": a, "rule": rule, "policy": pol, "detection_source": _detection_source(g[0], sources),
            "count": len(g), "reversed": sum(x.reversed_at is not None for x in g)}
           for (a, rule, pol), g in groups.items()]
    return sorted(out, key=lambda x: (-int(x["count"]), str(x["rule"])))


def _before_first_post(accounts: Sequence[Any]) -> dict[str, Any]:
    """Accounts now suspended (suspended in the period): how many were suspended before their first post
    (``status_changed_at`` before ``first_post_at``, or no post at all) - caught at registration."""
    n = len(accounts)
    before = sum(1 for a in accounts if a.status_changed_at is not None
                 and (a.first_post_at is None or a.status_changed_at <= a.first_post_at))
    return {"suspended": n, "before_first_post": before, "share": _share(before, n)}


def _time_to_action(rows: list[Any], first_reports: dict[str, datetime], ingested: dict[str, datetime],
                    order_targets: set[str]) -> dict[str, Any]:
    deltas: list[float] = []
    orders: list[float] = []
    for r in rows:
        if r.action != REMOVE:
            continue
        ref = first_reports.get(r.target_id) if r.source != "automated" else None
        ref = ref or ingested.get(r.target_id)
        if ref is None:
            continue
        d = max(0.0, (r.created_at - ref).total_seconds())
        deltas.append(d)
        if r.target_id in order_targets and r.target_id in first_reports:
            orders.append(max(0.0, (r.created_at - first_reports[r.target_id]).total_seconds()))
    counts = [0] * len(BUCKETS)
    for d in deltas:
        for i, (_, limit) in enumerate(BUCKETS):
            if d <= limit:
                counts[i] += 1
                break
    within = sum(1 for d in deltas if d <= 3600)
    return {"measured": len(deltas),
            "buckets": [{"label": label, "count": c, "share": _share(c, len(deltas))}
                        for (label, _), c in zip(BUCKETS, counts, strict=True)],
            "within_1h_share": _share(within, len(deltas)),
            "median_s": round(statistics.median(deltas), 1) if deltas else None,
            "removal_orders": {"count": len(orders), "within_1h": sum(1 for d in orders if d <= 3600),
                               "share_within_1h": _share(sum(1 for d in orders if d <= 3600), len(orders))}}


def _throughput(reviews: Sequence[Any], queue_times: list[float]) -> dict[str, Any]:
    per_day: Counter[str] = Counter(r.created_at.date().isoformat() for r in reviews)
    reviewer_days = {(r.actor, r.created_at.date()) for r in reviews}
    outcomes = Counter(r.outcome for r in reviews)
    qt = sorted(queue_times)
    return {"decisions": len(reviews), "reviewers": len({r.actor for r in reviews}),
            "per_reviewer_day": round(len(reviews) / len(reviewer_days), 1) if reviewer_days else None,
            "per_day": [{"day": d, "count": n} for d, n in sorted(per_day.items())],
            "outcomes": dict(outcomes.most_common()),
            "median_queue_s": round(statistics.median(qt), 1) if qt else None,
            "p90_queue_s": round(qt[min(len(qt) - 1, int(0.9 * len(qt)))], 1) if qt else None}


def period_days(days: int | None, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days else None
