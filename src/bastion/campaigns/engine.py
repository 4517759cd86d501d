"""The campaign stage's state, keyed by hashtag, and the per-post update that drives it.

:class:`CampaignEngine` is the stream-processor-shaped core: ``observe`` takes one post (already reduced to
ids, time, hashtags and scores by :mod:`bastion.campaigns.detector`) and returns the campaigns it takes part
in; ``snapshot``/``restore`` write and read all of its state as JSON-ready dicts. Everything it keeps is
keyed by hashtag (windows, recent observations, organic authors), by text cluster, or by account, so the
same class can run partitioned by key on a stream processor (bytewax's ``StatefulLogic`` shape). Nothing
here reads a wall clock: post event times drive every window.

Per post, cheapest first: account history -> suspicion score -> near-duplicate cluster -> for each hashtag,
an O(1) window add; only when a hashtag's *flagged* channel reaches ``min_flagged`` in the window is the
Poisson burst test run, and only when that passes are coordination signals computed and scored.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from bastion.campaigns.bursts import Burst, BurstTest
from bastion.campaigns.campaign import BARRAGE, HIJACK, Campaign, CampaignBook, campaign_id
from bastion.campaigns.coordination import (
    COOC,
    DUP,
    FLAGGED,
    NEW,
    RETURNED,
    RISKY,
    AccountBook,
    Obs,
    coordination,
)
from bastion.campaigns.heuristics import HASHTAG_WEIGHT, KnownHashtags
from bastion.campaigns.neardup import NearDupIndex, simhash
from bastion.campaigns.windows import F, KeyedWindows, N, WindowSpec, WindowState, expected
from bastion.errors import ConfigError

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
MAX_REASONS = 40  # per campaign (the first hashtags' reasons are the telling ones)


@dataclass(frozen=True, slots=True)
class CampaignConfig:
    """Every threshold of the stage, in one place (and in every snapshot, so a restore can check them)."""

    window_s: float = 3600.0
    bucket_s: float = 60.0
    baseline_tau_s: float = 7 * 86400.0
    prior_rate_per_h: float = 1.0 / 24.0
    prior_s: float = 6 * 3600.0
    alpha: float = 1e-3  # burst test on the flagged channel
    min_flagged: int = 3
    flag_threshold: float = 0.5  # post suspicion at or above this is "flagged"
    risky_threshold: float = 0.5  # account risk / ban evasion at or above this is "high-risk"
    min_score: float = 0.5  # campaign evidence score needed to open a campaign
    barrage_share: float = 0.5  # flagged share of the window that makes a non-established hashtag a barrage
    established_authors: int = 25  # distinct unflagged authors that make a hashtag "established"
    ttl_s: float = 3600.0
    sync_s: float = 60.0
    new_account_days: float = 30.0
    dup_distance: int = 3
    cluster_horizon_s: float = 6 * 3600.0
    max_recent: int = 500
    max_hashtags_per_post: int = 10
    max_participants: int = 1000
    max_samples: int = 10
    refresh_every: int = 20
    amplify_weight: float = 0.9  # a repost of a high-risk account's post carries this share of its risk
    participant_risk: float = 0.6  # own risk estimate of an account that took part in a campaign
    maintenance_s: float = 3600.0  # housekeeping at most once per hour of event time...
    maintenance_posts: int = 2000  # ...and per this many posts (cheap on sparse streams too)

    @property
    def spec(self) -> WindowSpec:
        return WindowSpec(self.window_s, self.bucket_s, self.baseline_tau_s, self.prior_rate_per_h,
                          self.prior_s)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> CampaignConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise ConfigError(f"unknown campaign option(s): {', '.join(unknown)}")
        return cls(**options)


@dataclass(frozen=True, slots=True)
class PostInput:
    """What the engine needs of a post: no text beyond what the near-duplicate fingerprint reads."""

    post_id: str
    account: str
    ts: float
    hashtags: tuple[str, ...]  # normalised (casefolded, no '#')
    text: str
    text_score: float  # propaganda signal, or the own heuristic
    account_risk: float | None = None  # account_risk signal when present
    ban_evasion: float | None = None
    account_created: float | None = None
    profile_score: float | None = None  # own profile heuristic, used when account_risk is absent
    amplifies: tuple[str, ...] = ()  # accounts whose posts this one reposts or quotes
    fingerprint: int | None = None  # simhash(text) when the caller has it (computed ahead); else computed here
    fingerprinted: bool = False  # the caller computed ``fingerprint``: None then means too short, not unknown


@dataclass(frozen=True, slots=True)
class HashtagView:
    """What the trend filter reads about one hashtag at one time."""

    tag: str
    posts: int
    flagged: int
    expected: float
    established: bool
    known: bool
    campaign: Campaign | None
    kind: str | None
    campaign_posts: int  # posts in the window from the campaign's participants or flagged


def evidence(tag: str, rec: Sequence[Obs], burst: Burst, established: bool,
             cfg: CampaignConfig) -> tuple[float, str, dict[str, Any], list[str]]:
    """A bursting hashtag's evidence from its window's observations (time-ordered): the campaign score, its
    kind (barrage or hijack), the per-hashtag signals a campaign keeps and the reasons it gives. A pure
    function, so the stream's engine and Spark's windows (:mod:`bastion.spark.campaigns`) score alike."""
    allc = coordination(rec, cfg.sync_s)
    flagged_obs = [o for o in rec if o.flags & FLAGGED]
    fc = coordination(flagged_obs, cfg.sync_s)
    score = 1.0 - (1.0 - 0.7 * fc.mean_suspicion) * (1.0 - 0.5 * burst.strength) * (1.0 - fc.combined())
    kind = BARRAGE if allc.flagged_share >= cfg.barrage_share and not established else HIJACK
    signals = {"kind": kind, "burst": burst.to_json(), "flagged_share": round(allc.flagged_share, 4),
               "established": established, "coordination": fc.to_json(), "score": round(score, 4)}
    reasons = [f"#{tag}: {burst.count} flagged posts in {cfg.window_s / 60:.0f} min vs "
               f"{burst.expected:.2f} expected (p={burst.p_value:.2g})",
               f"#{tag}: flagged posts {allc.flagged_share:.0%} of {allc.posts}"]
    reasons += [f"#{tag}: {r}" for r in fc.reasons()[1:]]
    if kind == HIJACK:
        reasons.append(f"#{tag}: established hashtag hijacked" if established
                       else f"#{tag}: extremist posts pushed into a hashtag the public is using")
    return score, kind, signals, reasons


def suspicion(cfg: CampaignConfig, p: PostInput, *, risk: float, returned: bool, known: bool,
              amplified: float = 0.0, in_campaign: bool = False) -> tuple[float, int]:
    """A post's suspicion score and flags from what is known of it and its author at its time: its text score,
    the author's risk, ban evasion, amplification of a high-risk account, a known extremist hashtag (and
    whether one of its hashtags has an open campaign). Pure, shared by the stream's engine and Spark's."""
    evasion = p.ban_evasion or 0.0
    score = max(p.text_score, risk, evasion, amplified, HASHTAG_WEIGHT if known else 0.0)
    flags = FLAGGED if score >= cfg.flag_threshold else 0
    if risk >= cfg.risky_threshold:
        flags |= RISKY
    if returned or evasion >= cfg.risky_threshold:
        flags |= RETURNED
    if p.account_created is not None and p.ts - p.account_created < cfg.new_account_days * 86400.0:
        flags |= NEW
    if known or in_campaign:
        flags |= COOC
    return score, flags


class CampaignEngine:
    def __init__(self, config: CampaignConfig | None = None, known: KnownHashtags | None = None) -> None:
        self.config = config or CampaignConfig()
        self.known = known if known is not None else KnownHashtags.load()
        self.windows = KeyedWindows(self.config.spec)
        self.clusters = KeyedWindows(WindowSpec(self.config.window_s, self.config.bucket_s))
        self.neardup = NearDupIndex(self.config.dup_distance, self.config.cluster_horizon_s)
        self.cluster_accounts: dict[str, list[Any]] = {}  # cluster -> [last seen, recent accounts...]
        self.recent: dict[str, deque[Obs]] = {}
        self.organic: dict[str, set[str]] = {}
        self.accounts = AccountBook()
        self.book = CampaignBook(self.config.ttl_s)
        self.burst_test = BurstTest(self.config.alpha, self.config.min_flagged)
        self.watermark = 0.0
        self._next_maintenance = 0.0
        self._since_maintenance = 0
        self.opened: list[Campaign] = []  # campaigns opened since the caller last drained this list

    # --- the per-post update -------------------------------------------------------------------------
    def suspicion(self, p: PostInput) -> tuple[float, int]:
        cfg = self.config
        st = self.accounts.record_post(p.account, p.text_score >= cfg.flag_threshold, p.ts)
        if p.profile_score is not None and st.posts == 1:
            st.profile = p.profile_score
        if p.account_risk is not None:
            st.signal = p.account_risk
        amplified = 0.0
        for acc in p.amplifies:
            other = self.accounts.get(acc)
            if other is not None and acc != p.account:
                amplified = max(amplified, cfg.amplify_weight * other.risk(cfg.participant_risk))
        return suspicion(cfg, p, risk=st.risk(cfg.participant_risk), returned=st.returned,
                         known=any(t in self.known for t in p.hashtags), amplified=amplified,
                         in_campaign=any(self.book.for_tag(t, p.ts) is not None for t in p.hashtags))

    def _near_dup(self, p: PostInput) -> bool:
        """Whether the post repeats, near enough, a post another account made within the window."""
        fp = p.fingerprint if p.fingerprint is not None or p.fingerprinted else simhash(p.text) if p.text else None
        if fp is None:
            return False
        cid = self.neardup.assign(fp, p.ts)
        self.clusters.add(cid, p.ts)
        entry = self.cluster_accounts.get(cid)
        dup = False
        if entry is None:
            self.cluster_accounts[cid] = [p.ts, p.account]
        else:
            dup = p.ts - entry[0] <= self.config.window_s and any(a != p.account for a in entry[1:])
            entry[0] = p.ts
            if p.account not in entry[1:]:
                entry.append(p.account)
                if len(entry) > 9:
                    del entry[1]
        return dup

    def lookup(self, p: PostInput) -> list[tuple[Campaign, str]]:
        """The open campaigns on the post's hashtags, changing nothing: a post the state already holds (a
        rescan) is reported on, not counted again."""
        tags = list(dict.fromkeys(p.hashtags[: self.config.max_hashtags_per_post]))
        return [(camp, tag) for tag in tags if (camp := self.book.for_tag(tag, p.ts)) is not None]

    def observe(self, p: PostInput) -> list[tuple[Campaign, str]]:
        """Update all state with one post; return (campaign, hashtag) pairs the post takes part in."""
        cfg = self.config
        if p.ts > self.watermark:
            self.watermark = p.ts
        self._since_maintenance += 1
        if p.ts >= self._next_maintenance and self._since_maintenance >= cfg.maintenance_posts:
            self.maintain(p.ts)
        score, flags = self.suspicion(p)
        if self._near_dup(p):
            flags |= DUP
        flagged = bool(flags & FLAGGED)
        obs = Obs(p.ts, p.post_id, p.account, score, flags)
        out: list[tuple[Campaign, str]] = []
        horizon = p.ts - cfg.window_s
        tags = list(dict.fromkeys(p.hashtags[: cfg.max_hashtags_per_post]))
        for tag, w in zip(tags, self.windows.add_post(tags, p.ts, flagged), strict=True):
            rec = self.recent.get(tag)
            if rec is None:
                rec = self.recent[tag] = deque(maxlen=cfg.max_recent)
            rec.append(obs)
            while rec and rec[0].t <= horizon:
                rec.popleft()
            if not flagged:
                authors = self.organic.get(tag)
                if authors is None:
                    self.organic[tag] = {p.account}
                elif len(authors) < cfg.established_authors:
                    authors.add(p.account)
            camp = self.book.for_tag(tag, p.ts)
            if camp is not None:
                if flagged or p.account in camp.participants:
                    self._join(camp, p.post_id, p.account, p.ts)
                    if self._refresh_due(camp, p):
                        self._refresh(camp, tag, w, p.ts)
                    out.append((camp, tag))
            elif flagged and w[F] >= cfg.min_flagged:
                burst = self.burst_test.test(w[F], expected(w, p.ts, cfg.spec, flagged=True))
                if burst is not None:
                    opened = self._declare(tag, rec, burst, p.ts)
                    if opened is not None:
                        out.append((opened, tag))
        return out

    # --- scoring and campaign bookkeeping -------------------------------------------------------------
    def established(self, tag: str) -> bool:
        return len(self.organic.get(tag, ())) >= self.config.established_authors

    def _evidence(self, tag: str, rec: Sequence[Obs],
                  burst: Burst) -> tuple[float, str, dict[str, Any], list[str]]:
        return evidence(tag, rec, burst, self.established(tag), self.config)

    def _declare(self, tag: str, rec: deque[Obs], burst: Burst, ts: float) -> Campaign | None:
        cfg = self.config
        score, kind, signals, reasons = self._evidence(tag, rec, burst)
        if score < cfg.min_score:
            return None
        flagged_obs = [o for o in rec if o.flags & FLAGGED]
        accounts = {o.account for o in flagged_obs}
        camp = self.book.overlapping(accounts, ts)
        if camp is None:
            start = flagged_obs[0].t if flagged_obs else ts
            camp = self.book.open(Campaign(id=campaign_id(tag, start), started_at=start, detected_at=ts,
                                           last_seen=ts))
            self.opened.append(camp)
            log.info("campaign %s opened on a %s hashtag (score %.2f)", camp.id, kind, score)
        self.book.attach(camp, tag, kind)
        for o in flagged_obs:
            self._join(camp, o.post_id, o.account, o.t)
        camp.signals[tag] = signals
        camp.score = max(camp.score, score)
        camp.reasons.extend(r for r in reasons if r not in camp.reasons)
        del camp.reasons[MAX_REASONS:]
        return camp

    def _join(self, camp: Campaign, post_id: str, account: str, ts: float) -> None:
        """Add a post to a campaign; an account joining it for the first time becomes a participant, which
        the stage's own account risk remembers (``participant_risk``)."""
        new = account not in camp.participants
        camp.add_post(post_id, account, ts, self.config.max_participants, self.config.max_samples)
        if new and account in camp.participants:
            self.accounts.touch(account).campaigns += 1

    def _refresh_due(self, camp: Campaign, p: PostInput) -> bool:
        """Whether the campaign's hashtag is re-scored now that ``p`` joined it: every ``refresh_every`` posts."""
        return camp.posts % self.config.refresh_every == 0

    def _refresh(self, camp: Campaign, tag: str, w: WindowState, ts: float) -> None:
        """Re-score an open campaign's hashtag as it grows (the kind may change: a barrage that the public
        floods with replies becomes a hijack, and is then no longer de-trended)."""
        rec = self.recent.get(tag)
        if not rec:
            return
        lam = expected(w, ts, self.config.spec, flagged=True)
        burst = self.burst_test.test(w[F], lam) or Burst(w[F], lam, 1.0)
        score, kind, signals, _ = self._evidence(tag, rec, burst)
        if camp.kind_of(tag) != kind:
            (camp.hashtags if kind == HIJACK else camp.hijacked).remove(tag)
            self.book.attach(camp, tag, kind)
        camp.signals[tag] = signals
        camp.score = max(camp.score, score)

    # --- reads -----------------------------------------------------------------------------------------
    def view(self, tag: str, at: float) -> HashtagView:
        w = self.windows.advance(tag, at)
        camp = self.book.for_tag(tag, at)
        posts, flagged = (w[N], w[F]) if w is not None else (0, 0)
        lam = expected(w, at, self.config.spec) if w is not None else 0.0
        campaign_posts = 0
        if camp is not None:
            horizon = at - self.config.window_s
            campaign_posts = sum(1 for o in self.recent.get(tag, ()) if o.t > horizon
                                 and (o.flags & FLAGGED or o.account in camp.participants))
        return HashtagView(tag, posts, flagged, lam, self.established(tag), tag in self.known, camp,
                           camp.kind_of(tag) if camp is not None else None, campaign_posts)

    def trending(self, at: float, min_posts: int = 5) -> list[tuple[str, int]]:
        """Hashtags with at least ``min_posts`` in the window ending at ``at`` (a stand-in for a platform's
        trend candidates), busiest first."""
        out = []
        horizon = at - self.config.window_s
        for tag, rec in list(self.recent.items()):
            if not rec or rec[-1].t <= horizon:
                del self.recent[tag]  # nothing left in its window: only the baselines remember it
                continue
            posts, _ = self.windows.count(tag, at)
            if posts >= min_posts:
                out.append((tag, posts))
        return sorted(out, key=lambda x: (-x[1], x[0]))

    # --- housekeeping ------------------------------------------------------------------------------------
    def maintain(self, at: float) -> None:
        """Expire campaigns and forget cold keys (run once per ``maintenance_s`` of event time)."""
        cfg = self.config
        self._next_maintenance = at + cfg.maintenance_s
        self._since_maintenance = 0
        self.book.expire(at)
        horizon = at - cfg.window_s
        for tag in [t for t, rec in self.recent.items() if not rec or rec[-1].t <= horizon]:
            del self.recent[tag]
        self.windows.prune(at)
        for tag in [t for t, a in self.organic.items()
                    if len(a) < cfg.established_authors and t not in self.windows]:
            del self.organic[tag]
        self.clusters.prune(at)
        self.neardup.prune(at)
        cutoff = at - cfg.cluster_horizon_s
        for cid in [c for c, e in self.cluster_accounts.items() if e[0] < cutoff]:
            del self.cluster_accounts[cid]
        keep = {a for c in self.book for a in c.participants}
        self.accounts.prune(keep)

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION, "config": asdict(self.config), "watermark": self.watermark,
            "next_maintenance": self._next_maintenance, "windows": self.windows.snapshot(),
            "clusters": self.clusters.snapshot(), "neardup": self.neardup.snapshot(),
            "cluster_accounts": self.cluster_accounts,
            "recent": {t: [o.to_json() for o in rec] for t, rec in self.recent.items()},
            "organic": {t: sorted(a) for t, a in self.organic.items()},
            "accounts": self.accounts.snapshot(), "campaigns": self.book.snapshot(),
        }

    def restore(self, data: dict[str, Any]) -> None:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ConfigError(f"campaign snapshot version {data.get('version')!r} is not {SNAPSHOT_VERSION}")
        saved = data.get("config", {})
        for key in ("window_s", "bucket_s"):
            if float(saved.get(key, -1)) != getattr(self.config, key):
                raise ConfigError(f"campaign snapshot has {key}={saved.get(key)!r}, this stage "
                                  f"{getattr(self.config, key)!r}; windows cannot be re-bucketed")
        self.watermark = float(data["watermark"])
        self._next_maintenance = float(data["next_maintenance"])
        self.windows.restore(data["windows"])
        self.clusters.restore(data["clusters"])
        self.neardup.restore(data["neardup"])
        self.cluster_accounts = {str(c): list(e) for c, e in data["cluster_accounts"].items()}
        self.recent = {t: deque((Obs.from_json(o) for o in rec), maxlen=self.config.max_recent)
                       for t, rec in data["recent"].items()}
        self.organic = {t: set(a) for t, a in data["organic"].items()}
        self.accounts.restore(data["accounts"])
        self.book.restore(data["campaigns"])
        self.opened = []
