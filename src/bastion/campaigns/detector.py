"""``CampaignDetector``: the pipeline stage for coordinated hashtag campaigns (registry name ``campaign``).

It runs after the text and account detectors and reads their signals from ``PostContext.signals``:
``propaganda`` (per-post extremism), ``account_risk`` and ``ban_evasion``. Where one is absent or
unavailable it falls back on its own heuristics (:mod:`bastion.campaigns.heuristics` for text and profile,
its own account history for risk, observed suspensions for ban evasion), so the stage works alone and
degrades instead of failing.

For each post in a detected extremist campaign it emits the post-level signal ``campaign`` with
``details = {campaign_id, hashtags, hijacked, kind, reasons}``; ``hashtags`` are the campaign's barrage
hashtags (safe to de-trend), ``hijacked`` the public hashtags it pushed into (filter the posts, keep the
trend). All state is keyed (hashtag, text cluster, account) and round-trips through a JSON snapshot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar

import orjson

from bastion.campaigns.campaign import BARRAGE, HIJACK, Campaign
from bastion.campaigns.clock import Clock, EventClock, epoch
from bastion.campaigns.engine import CampaignConfig, CampaignEngine, PostInput
from bastion.campaigns.heuristics import KnownHashtags, TextHeuristic, normalize_hashtag
from bastion.campaigns.neardup import simhash
from bastion.campaigns.trends import TrendFilter
from bastion.detector import Detector, PostContext, share_view
from bastion.errors import ConfigError
from bastion.records import Account, EnforcementEvent, EnforcementKind, Report, TargetKind
from bastion.records import Edge as EdgeRecord
from bastion.signals import Signal

log = logging.getLogger(__name__)

VERSION = "1"

_RT = re.compile(r"^\s*RT @(\w{1,50})")


class CampaignDetector(Detector):
    name: ClassVar[str] = "campaign"
    signals: ClassVar[tuple[str, ...]] = ("campaign",)
    views: ClassVar[tuple[Callable[[str], Any], ...]] = (simhash,)
    version = VERSION

    def __init__(self, *, extremist_hashtags: str | None = None, clock: Clock | None = None,
                 use_signals: bool = True, **options: Any) -> None:
        """``options`` are :class:`CampaignConfig` fields (thresholds, window sizes). ``use_signals=False``
        ignores earlier detectors' signals (for measuring the stage's own heuristics)."""
        self.config = CampaignConfig.from_options(options)
        self._options = dict(options)
        self._hashtag_file = extremist_hashtags
        self.known = KnownHashtags.load(Path(extremist_hashtags) if extremist_hashtags else None)
        self.heuristic = TextHeuristic(self.known)
        self.engine = CampaignEngine(self.config, self.known)
        self.clock: Clock = clock or EventClock()
        self.use_signals = use_signals
        self._profiles: dict[str, float] = {}
        self._handles: dict[str, str] = {}  # handle (casefolded) -> account id, for "RT @handle"
        self._authors: dict[str, str] = {}  # post id -> account id, for repost_of / quote_of

    # --- detector interface ----------------------------------------------------------------------------
    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        share_view(batch, simhash)  # one pass for the batch (a scan with workers has them already)
        return [self._one(ctx) for ctx in batch]

    def _signal(self, ctx: PostContext, name: str) -> float | None:
        if not self.use_signals:
            return None
        sig = ctx.signals.get(name)
        return sig.value if sig is not None and sig.ok else None

    def to_input(self, ctx: PostContext) -> PostInput:
        post = ctx.post
        if post.created_at is not None:
            self.clock.advance(post.created_at)
            ts = epoch(post.created_at)
        else:
            ts = epoch(self.clock.now())
        tags = tuple(t for t in (normalize_hashtag(h) for h in post.hashtags) if t)
        text_score = self._signal(ctx, "propaganda")
        if text_score is None:
            text_score = self.heuristic.score_post(post.text, tags)
        account_risk = self._signal(ctx, "account_risk")
        profile = None
        created = None
        if ctx.author is not None:
            created = epoch(ctx.author.created_at) if ctx.author.created_at is not None else None
            if account_risk is None:
                profile = self._profile(ctx.author)
        return PostInput(post_id=str(post.id), account=str(post.account_id), ts=ts, hashtags=tags,
                         text=post.text, text_score=text_score, account_risk=account_risk,
                         ban_evasion=self._signal(ctx, "ban_evasion"), account_created=created,
                         profile_score=profile, amplifies=self._amplifies(ctx),
                         fingerprint=ctx.view(simhash) if post.text else None, fingerprinted=True)

    def _amplifies(self, ctx: PostContext) -> tuple[str, ...]:
        """Accounts whose posts this one reposts or quotes: ``repost_of``/``quote_of`` when the original was
        seen, and the ``RT @handle:`` convention of old-style retweets (handle -> id from authors seen)."""
        post = ctx.post
        if len(self._authors) > 500_000:
            self._authors.clear()
        self._authors[str(post.id)] = str(post.account_id)
        if ctx.author is not None:
            if len(self._handles) > 500_000:
                self._handles.clear()
            self._handles[ctx.author.handle.casefold()] = str(ctx.author.id)
        out: list[str] = []
        for ref in (post.repost_of, post.quote_of):
            if ref is not None and str(ref) in self._authors:
                out.append(self._authors[str(ref)])
        m = _RT.match(post.text)
        if m is not None:
            handle = m.group(1).casefold()
            out.append(self._handles.get(handle, handle))
        return tuple(dict.fromkeys(out))

    def _profile(self, author: Account) -> float:
        key = str(author.id)
        cached = self._profiles.get(key)
        if cached is None:
            cached = self.heuristic.score_profile(author.handle, author.display_name, author.bio)
            if len(self._profiles) > 200_000:
                self._profiles.clear()
            self._profiles[key] = cached
        return cached

    def _one(self, ctx: PostContext) -> Sequence[Signal]:
        post = self.to_input(ctx)
        hits = self.engine.lookup(post) if ctx.replay else self.engine.observe(post)
        if not hits:
            return ()
        camp, _tag = max(hits, key=lambda h: h[0].score)
        return (self.signal_for(camp),)

    def signal_for(self, camp: Campaign) -> Signal:
        return campaign_signal(camp)

    def observe(self, records: Iterable[EdgeRecord | Report | EnforcementEvent]) -> None:
        """Suspensions feed the suspended-then-returned signal when no ``ban_evasion`` detector runs."""
        for rec in records:
            if not isinstance(rec, EnforcementEvent) or rec.target_kind != TargetKind.ACCOUNT:
                continue
            if rec.kind == EnforcementKind.SUSPEND:
                self.engine.accounts.suspend(rec.target_id, epoch(rec.created_at))
            elif rec.kind == EnforcementKind.REINSTATE:
                self.engine.accounts.reinstate(rec.target_id)

    def snapshot(self) -> bytes | None:
        """The engine's JSON state, plus the handle -> id entries of accounts it remembers (so ``RT @handle``
        resolves to the same account after a restore)."""
        state = self.engine.snapshot()
        accounts = self.engine.accounts
        state["handles"] = {h: a for h, a in self._handles.items() if accounts.get(a) is not None}
        return orjson.dumps(state)

    def restore(self, data: bytes) -> None:
        try:
            state = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"campaign snapshot is not JSON: {exc}") from exc
        if not isinstance(state, dict):
            raise ConfigError("campaign snapshot must be a JSON object")
        handles = state.pop("handles", {})
        try:
            self.engine.restore(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"campaign snapshot is malformed: {exc!r}") from exc
        self._handles = {str(h): str(a) for h, a in handles.items()}

    def get_params(self) -> Mapping[str, Any]:
        params: dict[str, Any] = dict(self._options)
        if self._hashtag_file:
            params["extremist_hashtags"] = self._hashtag_file
        if not self.use_signals:
            params["use_signals"] = False
        return params

    # --- extras the CLI, service and evaluation use -------------------------------------------------------
    def trend_filter(self) -> TrendFilter:
        return TrendFilter(self.engine)

    def campaigns(self, include_closed: bool = True) -> list[dict[str, Any]]:
        out = [c.to_json() for c in self.engine.book]
        if include_closed:
            out += [c.to_json() for c in self.engine.book.closed]
        return out

    def describe_config(self) -> dict[str, Any]:
        return {f.name: getattr(self.config, f.name) for f in fields(self.config)} | {
            "known_hashtags": len(self.known.exact) + len(self.known.prefixes)}


def campaign_signal(camp: Campaign) -> Signal:
    """The ``campaign`` signal a post of ``camp`` carries (here and in Spark's campaign stage)."""
    kind = BARRAGE if camp.hashtags else HIJACK
    return Signal(name="campaign", value=min(1.0, camp.score), detector=CampaignDetector.name, version=VERSION,
                  labels=(kind,),
                  details={"campaign_id": camp.id, "kind": kind, "hashtags": list(camp.hashtags),
                           "hijacked": list(camp.hijacked), "reasons": list(camp.reasons[:8])})


def default_config() -> dict[str, Any]:
    return asdict(CampaignConfig())
