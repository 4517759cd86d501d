"""``account_risk``: the account behind the content, scored from its posts, profile, avatar and network.

:class:`AccountRiskDetector` runs after the content detectors (it reads their signals through
``PostContext.signals``). For every post it

* turns the post's signals into a strike through the policy (:class:`~bastion.accounts.risk.StrikePolicy`)
  and adds it, time-decayed, to the author's keyed state;
* refreshes the author's profile signal (:mod:`bastion.accounts.features`) when the profile changed, and
  its avatar evidence (the avatar's PDQ against avatars of suspended accounts, or a score the pipeline
  sets with :meth:`AccountRiskDetector.set_avatar_score` from a media bank match);
* adds the post's mentions (``RT @x`` as a repost) to the interaction graph; edges, replies and follows
  also arrive through :meth:`observe`, with suspensions, which become propagation seeds;

and emits a post-level ``account_risk`` signal for the author. Once per batch
(:meth:`account_signals`), when seeds or the graph changed, it re-runs propagation from the seeds
(suspended accounts, and accounts whose own risk is above ``seed_threshold``) and reports the accounts whose
score moved by at least ``emit_delta`` - the policy's account rules decide on those.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bastion.accounts.features import ProfileWeights, profile_score
from bastion.accounts.fingerprint import pdq_distance
from bastion.accounts.network import InteractionGraph, badness, clusters_for_review, propagate
from bastion.accounts.normalize import hash64
from bastion.accounts.risk import AccountRiskState, RiskModel, RiskWeights, StrikePolicy
from bastion.accounts.state import pack, unpack
from bastion.detector import Detector, PostContext
from bastion.policy.loader import load_policy
from bastion.records import (
    Account,
    Edge,
    EdgeKind,
    EnforcementEvent,
    EnforcementKind,
    Post,
    Report,
    TargetKind,
)
from bastion.settings import Settings
from bastion.signals import Signal

log = logging.getLogger(__name__)
SIGNAL = "account_risk"
_RT = re.compile(r"^\s*RT\s+@(\w{1,50})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # decision time for posts without a timestamp
NETWORK_EPS = 1e-12  # a network value that moved less than this (summation order) has not moved


def post_edges(post: Post) -> list[tuple[str, str]]:
    """(neighbour handle, edge kind) for the interactions visible in a post's own fields."""
    out: list[tuple[str, str]] = []
    rt = _RT.match(post.text)
    if rt:
        out.append((rt.group(1), EdgeKind.REPOST.value))
    for m in post.mentions:
        if not rt or m != rt.group(1):
            out.append((m, EdgeKind.MENTION.value))
    return out


class AccountRiskDetector(Detector):
    name = "account_risk"
    signals = (SIGNAL,)
    version = "1"

    @classmethod
    def from_settings(cls, settings: Settings, options: Mapping[str, Any]) -> AccountRiskDetector:
        """Strikes follow the policy the pipeline enforces (its live rules), and the network re-propagates as
        often as the run says (a server with small verdict batches less often than a scan)."""
        defaults = {"live_rules": list(settings.live_rules), "refresh_every": settings.network_refresh_batches}
        return cls(**{**defaults, **options})

    def __init__(self, *, policy: str | None = None, live_rules: Sequence[str] = (), half_life_days: float = 30.0,
                 network_weight: float = 0.6, seed_threshold: float = 0.9, emit_delta: float = 0.05,
                 alpha: float = 0.85, prior: float = 1.0, refresh_every: int = 1) -> None:
        self.policy_path = policy
        self.live_rules = tuple(live_rules)
        self.weights = RiskWeights(half_life_days=half_life_days, network=network_weight)
        self.model = RiskModel(self.weights)
        self.strikes = StrikePolicy(load_policy(policy).promote(self.live_rules), self.weights)
        self.profile_weights = ProfileWeights()
        self.seed_threshold, self.emit_delta = seed_threshold, emit_delta
        self.alpha, self.prior = alpha, prior
        self.refresh_every = max(1, refresh_every)
        self._batches_since_refresh = 0
        self._seeds_dirty = False
        self.states: dict[str, AccountRiskState] = {}
        self.graph = InteractionGraph()
        self.suspended: dict[str, float] = {}
        self._profiles: dict[str, int] = {}  # stable hash of the last profile scored, per account
        self._avatars: dict[str, str] = {}  # account -> avatar PDQ (hex), to compare with suspended ones
        self._bad = np.zeros(0)
        self._bad_padded = self._bad
        self._graph_dirty = False
        self._dirty: set[str] = set()
        #: accounts with strikes, a profile or an avatar score - the only ones whose own risk can make them seeds
        #: - and accounts whose network value is not 0: a refresh looks at these, not at every account
        self._evidenced: set[str] = set()
        self._networked: set[str] = set()

    def get_params(self) -> Mapping[str, Any]:
        return {"policy": self.policy_path, "live_rules": list(self.live_rules),
                "half_life_days": self.weights.half_life_days,
                "network_weight": self.weights.network, "seed_threshold": self.seed_threshold,
                "emit_delta": self.emit_delta, "alpha": self.alpha, "prior": self.prior,
                "refresh_every": self.refresh_every}

    def state(self, account_id: str) -> AccountRiskState:
        st = self.states.get(account_id)
        if st is None:
            st = self.states[account_id] = AccountRiskState()
        return st

    # -- evidence ------------------------------------------------------------------------------------
    def update_profile(self, account: Account) -> bool:
        """Re-score the profile if it changed since last seen; True when it did."""
        aid = str(account.id)
        pdq = account.avatar.pdq if account.avatar else None
        key = hash64("\x1f".join((account.handle, account.display_name, account.bio, pdq or "")))
        if self._profiles.get(aid) == key:
            return False
        self._profiles[aid] = key
        st = self.state(aid)
        prof = profile_score(account, self.profile_weights)
        st.profile = prof.value
        st.profile_markers = [f"{m.field}:{m.kind}" + (f":{m.term}" if m.term else "")
                              for m in prof.markers][:5]
        if account.avatar is not None and account.avatar.pdq:
            self._avatars[aid] = account.avatar.pdq
            st.avatar = max(st.avatar, self._avatar_match(account.avatar.pdq, exclude=aid))
        self._dirty.add(aid)
        return True

    def _avatar_match(self, pdq: str, exclude: str) -> float:
        try:
            mine = bytes.fromhex(pdq)
        except ValueError:
            return 0.0
        for aid in self.suspended:
            other = self._avatars.get(aid)
            if aid == exclude or other is None or len(other) != len(pdq):
                continue
            if pdq_distance(mine, bytes.fromhex(other)) <= 31:
                return 1.0
        return 0.0

    def set_avatar_score(self, account_id: str, value: float) -> None:
        """Avatar evidence from outside (e.g. the avatar matched a bank of terrorist media)."""
        st = self.state(account_id)
        st.avatar = max(st.avatar, min(1.0, max(0.0, value)))
        self._dirty.add(account_id)

    def _network(self, aid: str, st: AccountRiskState) -> None:
        if len(self._bad) == 0:
            return
        n = len(self.graph)
        if len(self._bad_padded) < n:  # accounts met since the last refresh have badness 0; grow by doubling
            grown = np.zeros(max(n, 2 * len(self._bad_padded)))
            grown[:len(self._bad)] = self._bad
            self._bad_padded = grown
        st.network, st.network_refs = self.graph.neighbour_signal(aid, self._bad_padded, prior=self.prior)
        if st.network:
            self._networked.add(aid)
        else:
            self._networked.discard(aid)

    def _note_evidence(self, aids: Iterable[str]) -> None:
        """Keep :attr:`_evidenced` current for accounts whose state may have changed (every change of strikes,
        profile or avatar marks its account dirty)."""
        for aid in aids:
            st = self.states.get(aid)
            if st is not None and (st.strikes or st.profile or st.avatar):
                self._evidenced.add(aid)
            else:
                self._evidenced.discard(aid)

    # -- detector interface --------------------------------------------------------------------------
    def detect_accounts(self, accounts: Sequence[Account]) -> Sequence[Sequence[Signal]]:
        """At registration or profile change: the profile (and avatar) part of the risk, before any post.
        A profile alone is capped below the suspension threshold; it can send an account to review."""
        out: list[Sequence[Signal]] = []
        for account in accounts:
            aid = str(account.id)
            if not self.update_profile(account):
                out.append(())
                continue
            st = self.state(aid)
            value = self.model.score(st)
            if value <= 0 or abs(value - st.emitted) < self.emit_delta:
                out.append(())
                continue
            st.emitted = value
            out.append((Signal(name=SIGNAL, value=value, detector=self.name, version=self.version,
                               details=self.model.explain(st)),))
        return out

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        out: list[Sequence[Signal]] = []
        for ctx in batch:
            post = ctx.post
            aid = str(post.account_id)
            if ctx.author is not None:
                self.update_profile(ctx.author)
            st = self.state(aid)
            at = post.created_at.timestamp() if post.created_at else None
            if ctx.replay:  # a rescan of a stored post: report, do not count it twice
                out.append((Signal(name=SIGNAL, value=self.model.score(st, at), detector=self.name,
                                   version=self.version, details=self.model.explain(st, at)),))
                continue
            for nbr, kind in post_edges(post):
                self.graph.add(aid, nbr, kind)
                self._graph_dirty = True
            strike, reason = self.strikes.strike(str(post.id), ctx.signals, post.created_at or _EPOCH)
            self.model.add_strike(st, strike, at, post.id, reason)
            self._network(aid, st)
            self._dirty.add(aid)
            value = self.model.score(st, at)
            out.append((Signal(name=SIGNAL, value=value, detector=self.name, version=self.version,
                               details=self.model.explain(st, at)),))
        return out

    def observe(self, records: Iterable[Edge | Report | EnforcementEvent]) -> None:
        for rec in records:
            if isinstance(rec, Edge):
                self.graph.add(str(rec.src), str(rec.dst), rec.kind.value)
                self._graph_dirty = True
                self._dirty.add(str(rec.src))
            elif isinstance(rec, EnforcementEvent) and rec.target_kind == TargetKind.ACCOUNT:
                if rec.kind == EnforcementKind.SUSPEND:
                    self.suspended[rec.target_id] = rec.created_at.timestamp()
                elif rec.kind == EnforcementKind.REINSTATE:
                    self.suspended.pop(rec.target_id, None)
                self._graph_dirty = self._seeds_dirty = True

    def seeds(self) -> dict[str, float]:
        """Propagation seeds: suspended accounts (1.0) and accounts whose own risk is already high."""
        seeds = {aid: 1.0 for aid in self.suspended}
        self._note_evidence(self._dirty)
        for aid in self._evidenced:  # an account with no evidence of its own has an own risk of 0
            if aid not in seeds:
                st = self.states[aid]
                own = self.model.score(st) - self.weights.network * st.network  # without network: no echo
                if own >= self.seed_threshold:
                    seeds[aid] = own
        return seeds

    def refresh_network(self) -> None:
        seeds = self.seeds()
        self._bad = self._bad_padded = badness(propagate(self.graph, seeds, alpha=self.alpha), seeds, self.graph,
                                               self.alpha)
        # every account's network value in one product; the worst neighbours are named only where it moved
        values = self.graph.neighbour_values(self._bad, prior=self.prior) if len(self._bad) else None
        index, names, states = self.graph.index, self.graph.names, self.states
        # only an account with a network value now or before can change (the others stay at 0)
        moved = set(self._networked)
        if values is not None:
            moved.update(aid for i in np.flatnonzero(values).tolist() if (aid := names[i]) in states)
        for aid in moved:
            st = states[aid]
            idx = index.get(aid)
            value = float(values[idx]) if values is not None and idx is not None else 0.0
            if abs(value - st.network) > NETWORK_EPS or (value > 0 and not st.network_refs):
                before = st.network
                self._network(aid, st)
                if st.network != before:
                    self._dirty.add(aid)
        self._graph_dirty = self._seeds_dirty = False
        self._batches_since_refresh = 0

    def account_signals(self) -> Mapping[str, Sequence[Signal]]:
        """Once per batch: re-propagate when suspensions changed, or when the graph changed and
        ``refresh_every`` batches have passed (propagation covers the whole graph), then report the accounts
        whose score moved."""
        self._batches_since_refresh += 1
        if self._seeds_dirty or (self._graph_dirty and self._batches_since_refresh >= self.refresh_every):
            self.refresh_network()  # its seeds() notes the dirty accounts' evidence
        else:
            self._note_evidence(self._dirty)  # before the dirty set is emptied below
        out: dict[str, Sequence[Signal]] = {}
        for aid in sorted(self._dirty):
            st = self.states.get(aid)
            if st is None:
                continue
            value = self.model.score(st)
            if abs(value - st.emitted) >= self.emit_delta:
                st.emitted = value
                out[aid] = (Signal(name=SIGNAL, value=value, detector=self.name, version=self.version,
                                   details=self.model.explain(st)),)
        self._dirty.clear()
        return out

    def clusters(self, min_size: int = 3, min_mean_risk: float = 0.3) -> list[dict[str, object]]:
        """Communities of the interaction graph worth reviewing in bulk, worst first."""
        risk = np.zeros(len(self.graph))
        risk[:len(self._bad)] = self._bad[:len(self.graph)]  # propagated badness for accounts without posts
        for aid, st in self.states.items():
            idx = self.graph.index.get(aid)
            if idx is not None:
                risk[idx] = max(risk[idx], self.model.score(st))
        for aid in self.suspended:
            idx = self.graph.index.get(aid)
            if idx is not None:
                risk[idx] = 1.0
        found = clusters_for_review(self.graph, risk, self.suspended, min_size=min_size,
                                    min_mean_risk=min_mean_risk)
        return [c.to_json() for c in found]

    # -- state ---------------------------------------------------------------------------------------
    def snapshot(self) -> bytes | None:
        state = {"version": self.version, "states": {k: v.to_json() for k, v in self.states.items()},
                 "suspended": self.suspended, "avatars": self._avatars, "nodes": self.graph.names,
                 "profiles": {k: f"{v:016x}" for k, v in self._profiles.items()}}
        return pack(state, {"bad": self._bad, **self.graph.to_arrays()})

    def restore(self, data: bytes) -> None:
        state, arrays = unpack(data)
        self.states = {str(k): AccountRiskState.from_json(v) for k, v in state["states"].items()}
        self.suspended = {str(k): float(v) for k, v in state["suspended"].items()}
        self._avatars = {str(k): str(v) for k, v in state["avatars"].items()}
        self.graph = InteractionGraph.from_arrays(state["nodes"], arrays)
        self._bad = self._bad_padded = arrays["bad"].astype(np.float64)
        self._profiles = {str(k): int(v, 16) for k, v in state.get("profiles", {}).items()}
        self._graph_dirty = len(self.graph) > 0  # refresh propagation on the first batch after a restore
        self._evidenced, self._networked = set(), {aid for aid, st in self.states.items() if st.network}
        self._note_evidence(self.states)

