"""The local runtime: stream records through the named stages in one process.

    ingest ─▶ observe ─▶ accounts ─▶ detect ─▶ decide ─▶ act ─▶ persist

* **ingest**: readers yield records and quarantined items; records are grouped into batches.
* **observe**: edges, reports and enforcement events feed stateful detectors.
* **accounts**: new and updated accounts are checked at registration (``Detector.detect_accounts``), before
  their first post.
* **detect**: each detector, in order, scores the batch's new posts; a detector that raises is retried post
  by post, and a post it still fails on gets an unavailable signal with the reason. With ``workers`` > 1 the
  leading pure detectors score batches ahead of time in worker processes (:mod:`bastion.pipeline.workers`);
  the rest run here, in input order, so the results are the same.
* **decide**: the policy turns each subject's signals into a decision (posts, accounts, reports).
* **act**: action sinks (security cases, ...) carry out effects and annotate the actions.
* **persist**: one transaction per batch (records, decisions, ledger, review jobs, audit, webhook outbox).

The stages are functions of their inputs plus the detectors' keyed state, so another runtime (a cluster
job partitioned by account or hashtag) can drive the same detectors and policy.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bastion.actions.base import ActionSink
from bastion.batch import Batch
from bastion.detector import Detector, PostContext, run_detectors
from bastion.ingest.base import Item, Quarantined
from bastion.pipeline.workers import Ahead, DetectorPool, leading_pure
from bastion.policy.engine import PolicyEngine, resolve_params
from bastion.policy.model import Action, Decision, Subject
from bastion.records import Account, Edge, EnforcementEvent, EnforcementKind, Post, Report, TargetKind
from bastion.review.learning import LearningSampler
from bastion.signals import Signal

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
STATE_EVERY_S = 30.0  # detector snapshots are saved at least this often during a scan (and at its end)
#: ``Pipeline.process(decided=...)`` holds a report's decision made elsewhere under (report id, REPORT_KEY)
REPORT_KEY = "report"
OBSERVE_MIN = 0.2  # a sink observes posts whose signal is at least this (or that report on it)
AUTHOR_CACHE = 200_000  # accounts kept in memory for PostContext.author (bounded: constant memory)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ScanStats:
    run_id: str = ""
    records: int = 0
    posts: int = 0
    posts_duplicate: int = 0
    posts_revised: int = 0  # stored posts submitted with other content (stored as their next version)
    accounts: int = 0
    edges: int = 0
    reports: int = 0
    enforcement: int = 0
    quarantined: int = 0
    decisions: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    shadow_actions: Counter[str] = field(default_factory=Counter)
    by_policy_rule: Counter[str] = field(default_factory=Counter)
    unavailable_signals: Counter[str] = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def posts_per_s(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "records": self.records, "posts": self.posts,
                "posts_duplicate": self.posts_duplicate,
                "posts_revised": self.posts_revised, "accounts": self.accounts, "edges": self.edges,
                "reports": self.reports, "enforcement": self.enforcement, "quarantined": self.quarantined,
                "decisions": self.decisions, "actions": dict(self.actions),
                "shadow_actions": dict(self.shadow_actions), "by_rule": dict(self.by_policy_rule),
                "unavailable_signals": dict(self.unavailable_signals),
                "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
                "seconds": round(self.seconds, 3), "posts_per_s": round(self.posts_per_s, 1)}


class _Timer:
    def __init__(self, stats: ScanStats, stage: str) -> None:
        self.stats, self.stage = stats, stage

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        spent = time.perf_counter() - self.t0
        self.stats.stage_seconds[self.stage] = self.stats.stage_seconds.get(self.stage, 0.0) + spent


def batched(items: Iterable[Item], size: int) -> Iterator[Batch]:
    """Group a stream into batches. Within a batch, enforcement events are observed before accounts and
    posts are checked, so a batch is cut where an enforcement event follows accounts or posts: a suspension
    is known exactly from its place in the stream on (ban evasion checks later registrations against it)."""
    batch = Batch()
    for item in items:
        if isinstance(item, EnforcementEvent) and (batch.accounts or batch.posts):
            yield batch
            batch = Batch()
        if isinstance(item, Post):
            batch.posts.append(item)
        elif isinstance(item, Account):
            batch.accounts.append(item)
        elif isinstance(item, Edge):
            batch.edges.append(item)
        elif isinstance(item, Report):
            batch.reports.append(item)
        elif isinstance(item, EnforcementEvent):
            batch.enforcement.append(item)
        elif isinstance(item, Quarantined):
            batch.quarantined.append(item)
        if len(batch) >= size:
            yield batch
            batch = Batch()
    if len(batch):
        yield batch


def remember(authors: OrderedDict[str, Account], accounts: Iterable[Account]) -> None:
    """Keep the stream's latest accounts for ``PostContext.author`` (least recently registered out first)."""
    for a in accounts:
        authors[a.id] = a
        authors.move_to_end(a.id)
    while len(authors) > AUTHOR_CACHE:
        authors.popitem(last=False)


def unique(posts: Iterable[Post]) -> list[Post]:
    """A batch's posts, each id once (its first occurrence)."""
    seen: set[str] = set()
    out: list[Post] = []
    for p in posts:
        if p.id not in seen:
            seen.add(p.id)
            out.append(p)
    return out


def own_suspensions(decisions: Iterable[Decision], now: datetime) -> list[EnforcementEvent]:
    """Suspensions this run decided, as enforcement events for the stateful detectors to observe."""
    events: dict[str, EnforcementEvent] = {}
    for d in decisions:
        for act in d.actions:
            if act.action == "suspend_account":
                target = d.account_id or d.subject_id
                events.setdefault(target, EnforcementEvent(
                    id=f"{d.id}:suspend", kind=EnforcementKind.SUSPEND, target_kind=TargetKind.ACCOUNT,
                    target_id=target, created_at=now, reason=act.rule, source="bastion"))
    return list(events.values())


class Pipeline:
    def __init__(self, *, engine: PolicyEngine, detectors: Sequence[Detector], store: Any,
                 sinks: Sequence[ActionSink] = (), clock: Clock = utc_now, batch_size: int = 1000,
                 on_decision: Callable[[Decision], None] | None = None, webhook: bool = False,
                 workers: int = 1) -> None:
        self.policy = engine
        self.detectors = list(detectors)
        self.store = store
        self.sinks = list(sinks)
        self.clock = clock
        self.batch_size = batch_size
        self.on_decision = on_decision
        self.webhook = webhook
        self.workers = workers
        self.authors: OrderedDict[str, Account] = OrderedDict()
        self.sampler = self._sampler()
        self.catch_up = (0, 0)  # audit seqs (after, upto] of stored posts the detectors have not seen; restore_state

    def _sampler(self) -> LearningSampler | None:
        """The policy's active sampling for the ``learning`` queue, its day's count restored from the store."""
        policy = self.policy.policy
        if policy.learning.daily_budget <= 0:
            return None
        now = self.clock()
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        taken = self.store.count_jobs(policy.learning.queue, start) if self.store else 0
        return LearningSampler(policy.learning, f"{policy.name}@{policy.version}", taken, now.date())

    # -- state ------------------------------------------------------------------------------------------
    def restore_state(self) -> None:
        """Restore each detector's snapshot. A snapshot is as of an audit seq: posts stored after it (by a run
        that crashed before its next snapshot) are fed to the detectors as new when they come again, not as a
        rescan, so the detectors' state is the one an uninterrupted scan would have had."""
        saved = self.store.load_states([d.name for d in self.detectors]) if self.store else {}
        for det in self.detectors:
            if det.name in saved:
                det.restore(saved[det.name][0])
        # posts stored after the snapshots and before this run are the ones to catch up on; what this run
        # stores from here on, its detectors see as it goes
        self.catch_up = (min((as_of for _, as_of in saved.values()), default=0),
                         self.store.audit_head() if self.store else 0)

    def save_state(self) -> None:
        states = {}
        for det in self.detectors:
            snap = det.snapshot()
            if snap is not None:
                states[det.name] = snap
        if self.store:
            self.store.save_state(states, self.clock())

    # -- the run --------------------------------------------------------------------------------------------
    def run(self, items: Iterable[Item], *, inputs: Sequence[str] = (),
            progress: Callable[[int], None] | None = None) -> ScanStats:
        stats = ScanStats(run_id="run_" + uuid.uuid4().hex[:16])
        t0 = time.perf_counter()
        if self.store:
            self.store.start_run(stats.run_id, list(inputs), self.clock())
        self.restore_state()
        saved_at = time.monotonic()
        for batch, ahead in self._ahead(batched(items, self.batch_size)):
            self.process(batch, stats, ahead)
            if progress:
                progress(len(batch))
            if time.monotonic() - saved_at > STATE_EVERY_S:  # bounds what a crash makes a rerun catch up on
                self.save_state()
                saved_at = time.monotonic()
        self.save_state()
        stats.seconds = time.perf_counter() - t0
        if self.store:
            self.store.finish_run(stats.run_id, stats.to_json(), self.clock())
            close = getattr(self.store, "close", None)
            if close is not None:
                close()
        return stats

    def _ahead(self, batches: Iterator[Batch]) -> Iterator[tuple[Batch, Ahead | None]]:
        """Each batch, with - when there are workers, pure detectors and more than one batch - the pure
        detectors' signals for its posts under way on a pool of ``workers - 1`` processes (this one runs the
        stateful detectors, decides, acts and writes), up to ``workers`` batches ahead."""
        pure = leading_pure(self.detectors)
        first = list(itertools.islice(batches, 2))
        if self.workers <= 1 or not pure or len(first) < 2:
            yield from ((b, None) for b in itertools.chain(first, batches))
            return
        views = tuple(dict.fromkeys(f for det in self.detectors[pure:] for f in det.views))
        pool = DetectorPool(self.detectors[:pure], self.workers - 1, views)  # this process is the Nth
        authors: OrderedDict[str, Account] = OrderedDict()  # as process() will see them, batch by batch
        window: deque[tuple[Batch, Ahead | None]] = deque()
        try:
            for batch in itertools.chain(first, batches):
                remember(authors, batch.accounts)
                posts = unique(batch.posts)
                window.append((batch, pool.submit([(p, authors.get(p.account_id)) for p in posts])
                               if posts else None))
                if len(window) > self.workers:
                    yield window.popleft()
            while window:
                yield window.popleft()
        finally:
            pool.close()

    def process(self, batch: Batch, stats: ScanStats, ahead: Ahead | None = None,
                decided: Mapping[tuple[str, str], Decision] | None = None,
                elsewhere: Sequence[Decision] = ()) -> list[Decision]:
        """One batch through every stage. ``ahead``: the leading pure detectors' signals for the batch's
        posts, computed elsewhere (:meth:`_ahead`); those detectors are then not run here. ``decided``: posts'
        decisions made elsewhere (a Spark job), by (post id, content digest), and reports' by (report id,
        ``REPORT_KEY``); they are acted on and stored as they are, not decided again. ``elsewhere``: other
        decisions made elsewhere (a Spark job's account decisions), acted on and stored with the batch's own."""
        now = self.clock()
        stats.records += len(batch) - len(batch.quarantined)
        stats.quarantined += len(batch.quarantined)
        stats.accounts += len(batch.accounts)
        stats.edges += len(batch.edges)
        stats.reports += len(batch.reports)
        stats.enforcement += len(batch.enforcement)

        with _Timer(stats, "observe"):
            others: list[Edge | Report | EnforcementEvent] = [*batch.edges, *batch.reports, *batch.enforcement]
            if others:
                for det in self.detectors:
                    det.observe(others)
        with _Timer(stats, "accounts"):
            remember(self.authors, batch.accounts)
            account_signals: dict[str, dict[str, Signal]] = {}
            if batch.accounts and self.detectors:
                for det in self.detectors:
                    for acct, sigs in zip(batch.accounts, det.detect_accounts(batch.accounts), strict=True):
                        for s in sigs:
                            account_signals.setdefault(acct.id, {})[s.name] = s
        with _Timer(stats, "dedupe"):
            fresh = unique(batch.posts)
            stored = self.store.stored_digests([p.id for p in fresh]) if self.store else {}
            known = set(stored)
            # a stored post with other content is the post's next version: judged and stored as new
            batch.revised = [p for p in fresh if p.id in stored and stored[p.id] != p.content_digest()]
            revised = {p.id for p in batch.revised}
            stats.posts_duplicate += len(batch.posts) - len(fresh) + len(known) - len(revised)
            stats.posts_revised += len(revised)
            stats.posts += len(fresh)
            # known posts are scored again (a rescan reports on every input post) but stored once; those the
            # detectors' snapshots do not include (stored by a run that crashed before saving them) count as new
            batch.posts = [p for p in fresh if p.id not in known]
            posts = fresh
            after, upto = self.catch_up
            replay = known - revised - (self.store.stored_between(sorted(known), after, upto)
                                        if known and self.store and after < upto else set())
        contexts = [PostContext(p, self.authors.get(p.account_id), replay=p.id in replay) for p in posts]
        with _Timer(stats, "detect"):
            here = self.detectors
            if ahead is not None:
                with _Timer(stats, "detect:from workers"):  # waiting for them, and unpickling what they sent
                    signals, views, spent = ahead.result()
                for ctx, found, seen in zip(contexts, signals, views, strict=True):
                    ctx.signals.update(found)
                    ctx.views.update(seen)
                for key, seconds in spent.items():
                    stats.stage_seconds[key] = stats.stage_seconds.get(key, 0.0) + seconds
                here = self.detectors[leading_pure(self.detectors):]
            if here and contexts:
                run_detectors(here, contexts, stats.stage_seconds)
            for det in self.detectors:  # each batch's account signals count as their detector's time
                t0 = time.perf_counter()
                for aid, sigs in det.account_signals().items():
                    for s in sigs:
                        account_signals.setdefault(aid, {})[s.name] = s
                key = f"detect:{det.name}"
                stats.stage_seconds[key] = stats.stage_seconds.get(key, 0.0) + time.perf_counter() - t0
        decisions: list[Decision] = []
        with _Timer(stats, "decide"):
            decide = self.policy.decide
            for ctx in contexts:
                given = decided.get((ctx.post.id, ctx.post.content_digest())) if decided else None
                decisions.append(given or decide(Subject.POST, ctx.post.id, ctx.signals, now=now,
                                                 account_id=ctx.post.account_id,
                                                 content=ctx.post.content_digest()))
            for aid, acct_sigs in account_signals.items():
                decisions.append(decide(Subject.ACCOUNT, aid, acct_sigs, now=now, account_id=aid))
            decisions.extend(elsewhere)
            for r in batch.reports:
                given = decided.get((r.id, REPORT_KEY)) if decided else None
                decisions.append(given or decide(Subject.REPORT, r.id, {}, now=now, reporter=r.reporter_kind.value,
                                                 account_id=r.target_id if r.target_kind.value == "account" else None))
        if self.sampler is not None:
            with _Timer(stats, "learning"):
                decisions = self.sampler.pick(decisions, {c.post.id: c.signals for c in contexts},
                                              {c.post.id: (c.post.text, c.post.lang) for c in contexts}, now)
        with _Timer(stats, "act"):
            by_post: dict[str, PostContext] = {c.post.id: c for c in contexts}
            # a decision already stored was acted on when it was stored (a rescan, or a rerun after a crash):
            # it is reported again but its effects are not carried out twice
            done = self.store.existing_decisions([d.id for d in decisions if d.actions]) if self.store else set()
            decisions = self._act_all(decisions, by_post, done)
            self._observe_sinks(decisions, by_post)
        batch.decisions = decisions
        with _Timer(stats, "observe"):
            own = own_suspensions(decisions, now)
            if own:  # the pipeline's own suspensions feed back (ban evasion fingerprints, network seeds)
                for det in self.detectors:
                    det.observe(own)
        with _Timer(stats, "persist"):
            if self.store:
                self.store.write(batch, run_id=stats.run_id, now=now,
                                 posts_by_id={p.id: p for p in posts},
                                 reports_by_id={r.id: r for r in batch.reports}, webhook=self.webhook)
        for d in decisions:
            stats.decisions += 1
            for act in d.actions:
                stats.actions[act.action] += 1
            for rule in {f"{act.policy} {act.rule}" for act in d.actions}:
                stats.by_policy_rule[rule] += 1  # decisions per rule
            for act in d.shadow_actions:
                stats.shadow_actions[act.action] += 1
            if self.on_decision is not None:
                self.on_decision(d)
        for ctx in contexts:
            for name, sig in ctx.signals.items():
                if not sig.ok:
                    stats.unavailable_signals[name] += 1
        return decisions

    def _observe_sinks(self, decisions: list[Decision], by_post: dict[str, PostContext]) -> None:
        """Let sinks see posts they did not act on but that carry their signal (e.g. a news report quoting a
        threat is attached to the threat's open case as context). Sinks opt in with ``observes`` (a signal
        name) and ``observe(ctx)``, optionally ``observe_many(ctxs)`` for a whole batch; only posts where that
        signal is present and non-trivial are passed."""
        for sink in self.sinks:
            signal = getattr(sink, "observes", None)
            observe = getattr(sink, "observe", None)
            if not signal or observe is None:
                continue
            seen: list[PostContext] = []
            for d in decisions:
                ctx = by_post.get(d.subject_id) if d.subject_kind == Subject.POST else None
                if ctx is None or any(a.action in sink.handles for a in d.actions):
                    continue
                sig = ctx.signals.get(signal)
                if sig is None or not sig.ok or (sig.value < OBSERVE_MIN and not sig.details.get("reporting")):
                    continue
                seen.append(ctx)
            observe_many = getattr(sink, "observe_many", None)
            if seen and observe_many is not None:  # the batch at once (one look-up), else post by post
                try:
                    observe_many(seen)
                    continue
                except Exception as exc:
                    log.warning("sink %s could not observe a batch (%s); post by post", sink.name, exc)
            for ctx in seen:
                try:
                    observe(ctx)
                except Exception as exc:
                    log.warning("sink %s could not observe post %s: %s", sink.name, ctx.post.id, exc)

    def _act_all(self, decisions: list[Decision], by_post: dict[str, PostContext], done: set[str]
                 ) -> list[Decision]:
        """Carry out the batch's decisions not ``done`` before. A sink with ``perform_many``
        (:class:`bastion.actions.base.BatchActionSink`) gets all its actions of the batch in one call (e.g. one
        transaction for a barrage of escalations); if that call fails, the sink is called action by action, so
        one bad action fails alone."""
        def ctx_of(d: Decision) -> PostContext | None:
            return by_post.get(d.subject_id) if d.subject_kind == Subject.POST else None

        todo = [(i, ctx, resolve_params(d, ctx.signals) if ctx is not None and d.actions else d)
                for i, d in enumerate(decisions) if d.id not in done for ctx in (ctx_of(d),)]
        performed: dict[int, dict[tuple[int, int], Mapping[str, Any]]] = {}  # decision -> (action, sink) -> params
        for k, sink in enumerate(self.sinks):
            many = getattr(sink, "perform_many", None)
            calls = [(i, j, d, a, ctx) for i, ctx, d in todo for j, a in enumerate(d.actions)
                     if a.action in sink.handles]
            if many is None or not calls:
                continue
            try:
                results = many([(d, a, ctx) for _, _, d, a, ctx in calls])
            except Exception as exc:
                log.warning("sink %s could not act on the batch at once (%s); action by action", sink.name, exc)
                continue
            for (i, j, _, _, _), r in zip(calls, results, strict=True):
                performed.setdefault(i, {})[(j, k)] = r
        out = list(decisions)
        for i, ctx, d in todo:
            out[i] = self._act(d, ctx, performed.get(i, {}))
        return out

    def _act(self, decision: Decision, ctx: PostContext | None,
             performed: Mapping[tuple[int, int], Mapping[str, Any]]) -> Decision:
        """The decision with each action's sink parameters: taken from ``performed`` ((action index, sink
        index) -> parameters) where a sink acted on the whole batch, else from the sink itself."""
        if not self.sinks or not decision.actions:
            return decision
        changed = False
        actions: list[Action] = []
        for j, action in enumerate(decision.actions):
            params = dict(action.params)
            for k, sink in enumerate(self.sinks):
                if action.action not in sink.handles:
                    continue
                got = performed.get((j, k))
                if got is not None:
                    params.update(got)
                else:
                    try:
                        params.update(sink.perform(decision, action, ctx))
                    except Exception as exc:
                        log.error("sink %s failed on decision %s: %s", sink.name, decision.id, exc)
                        params["sink_error"] = f"{sink.name}: {type(exc).__name__}: {exc}"
                changed = True
            actions.append(replace(action, params=params) if changed else action)
        return replace(decision, actions=tuple(actions)) if changed else decision
