"""Account risk: time-decayed strikes from posts, plus profile, avatar and network evidence.

The model is deliberately simple and explainable, like a platform's strike system:

* every post earns a *strike* whose size the **policy** sets: a post the policy would remove (or escalate)
  is a full strike, one it would send to review a partial strike, and every post adds a small amount in
  proportion to its strongest content signal, so a run of borderline posts adds up too;
* strikes decay exponentially (half-life ``half_life_days``), so an account that stopped posting such
  content drifts back down;
* the post part is ``1 - exp(-strikes)``; profile, avatar and network evidence join by noisy-or, each with
  its own weight, so one source alone never reaches the suspension threshold unless it is strong.

The per-account state is a small JSON-serialisable dataclass keyed by account id, so the same stage runs
in one process or partitioned by account (network scores then come from a global job, see
:mod:`bastion.accounts.network`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bastion.policy.engine import PolicyEngine
from bastion.policy.model import EffectKind, Policy, Subject
from bastion.records import PostId
from bastion.signals import Signal

#: Content signals whose value feeds the soft part of a strike.
STRIKE_SIGNALS: tuple[str, ...] = ("propaganda", "lexicon", "media_match", "threat")


@dataclass(frozen=True, slots=True)
class RiskWeights:
    """Knobs of the risk model. Defaults are set by hand on the development data (see docs/accounts.md)."""

    enforce_strike: float = 1.0  # a post the policy removes or escalates (or reviews in place of removing)
    review_strike: float = 0.35  # a post the policy sends to review
    soft_strike: float = 0.3  # times the strongest content signal, for every post
    soft_floor: float = 0.2  # content signals below this add nothing (most posts of most accounts)
    half_life_days: float = 30.0
    profile: float = 1.0  # multiplies the profile score (already capped by ProfileWeights.cap)
    avatar: float = 0.9
    network: float = 0.6
    max_contributions: int = 5


_HARD = frozenset({EffectKind.REMOVE_POST.value, EffectKind.ESCALATE.value})
_REVIEW = EffectKind.REVIEW.value


class StrikePolicy:
    """Turns a post's signals into a strike through the policy: what the policy would do to the post."""

    def __init__(self, policy: Policy, weights: RiskWeights) -> None:
        self.engine = PolicyEngine(policy)
        self.weights = weights
        # a live rule that stands in for a shadow removal (people decide first) marks removal-grade content
        hard = {EffectKind.REMOVE_POST, EffectKind.ESCALATE}
        by_id = {r.id: r for r in policy.rules}
        self.removal_grade = {r.ref for r in policy.rules if r.stands_in_for in by_id
                              and any(e.kind in hard for e in by_id[r.stands_in_for].effects)}

    def strike(self, post_id: str, signals: Mapping[str, Signal], now: datetime) -> tuple[float, str]:
        """(strike, reason): the policy tier the post reaches, plus the soft part."""
        w = self.weights
        hard, reason = 0.0, ""
        if any(s.ok and s.value > 0 for s in signals.values()):
            actions = self.engine.actions(Subject.POST, signals)
            kinds = {a.action for a in actions}
            rules = "policy:" + ",".join(sorted({a.rule for a in actions}))
            if not kinds.isdisjoint(_HARD) or any(a.rule in self.removal_grade for a in actions):
                hard, reason = w.enforce_strike, rules
            elif _REVIEW in kinds:
                hard, reason = w.review_strike, rules
        best_name, best = "", 0.0
        for name in STRIKE_SIGNALS:
            sig = signals.get(name)
            if sig is not None and sig.ok and sig.value > best:
                best_name, best = name, sig.value
        soft = w.soft_strike * max(0.0, best - w.soft_floor) / (1.0 - w.soft_floor)
        if soft > 0 and not reason:
            reason = f"{best_name}={best:.2f}"
        return hard + soft, reason


@dataclass(slots=True)
class Contribution:
    """One piece of evidence in an account's score (a post's strike, a profile marker, a neighbour...)."""

    source: str
    ref: str
    weight: float

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "ref": self.ref, "weight": round(self.weight, 4)}


@dataclass(slots=True)
class AccountRiskState:
    """Everything the risk model keeps about one account (keyed state; JSON round-trip)."""

    strikes: float = 0.0
    last_time: float | None = None  # epoch seconds of the last strike update
    posts: int = 0
    profile: float = 0.0
    avatar: float = 0.0
    network: float = 0.0
    top_posts: list[Contribution] = field(default_factory=list)
    profile_markers: list[str] = field(default_factory=list)
    network_refs: list[str] = field(default_factory=list)
    emitted: float = 0.0  # the value last reported through account_signals()

    def to_json(self) -> dict[str, Any]:
        return {"s": round(self.strikes, 6), "t": self.last_time, "n": self.posts,
                "p": round(self.profile, 4), "a": round(self.avatar, 4), "g": round(self.network, 4),
                "e": round(self.emitted, 4),
                "tp": [[c.source, c.ref, round(c.weight, 4)] for c in self.top_posts],
                "pm": self.profile_markers, "nr": self.network_refs}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> AccountRiskState:
        return cls(strikes=float(obj["s"]), last_time=obj.get("t"), posts=int(obj["n"]),
                   profile=float(obj["p"]), avatar=float(obj["a"]), network=float(obj["g"]),
                   emitted=float(obj.get("e", 0.0)),
                   top_posts=[Contribution(str(s), str(r), float(w)) for s, r, w in obj.get("tp", [])],
                   profile_markers=[str(m) for m in obj.get("pm", [])],
                   network_refs=[str(r) for r in obj.get("nr", [])])


class RiskModel:
    """Updates :class:`AccountRiskState` and scores it; stateless itself (the states live with the caller)."""

    def __init__(self, weights: RiskWeights | None = None) -> None:
        self.weights = weights or RiskWeights()
        self._tau = self.weights.half_life_days * 86400.0 / math.log(2.0)

    def decayed(self, state: AccountRiskState, at: float | None) -> float:
        """The strike total as of ``at`` (epoch seconds); unchanged when either time is unknown."""
        if at is None or state.last_time is None or at <= state.last_time:
            return state.strikes
        return state.strikes * math.exp(-(at - state.last_time) / self._tau)

    def add_strike(self, state: AccountRiskState, strike: float, at: float | None, post_id: PostId | str,
                   reason: str) -> None:
        state.posts += 1
        if strike <= 0:
            return
        state.strikes = self.decayed(state, at) + strike
        if at is not None and (state.last_time is None or at > state.last_time):
            state.last_time = at
        top = state.top_posts
        top.append(Contribution(reason or "post", str(post_id), strike))
        top.sort(key=lambda c: -c.weight)
        del top[self.weights.max_contributions:]

    def score(self, state: AccountRiskState, at: float | None = None) -> float:
        w = self.weights
        post_part = 1.0 - math.exp(-self.decayed(state, at))
        keep = (1.0 - post_part) * (1.0 - min(1.0, w.profile * state.profile))
        keep *= (1.0 - w.avatar * state.avatar) * (1.0 - w.network * state.network)
        return 1.0 - keep

    def explain(self, state: AccountRiskState, at: float | None = None) -> dict[str, Any]:
        """The score's parts and the top contributing evidence, strongest first."""
        w = self.weights
        parts = {"posts": 1.0 - math.exp(-self.decayed(state, at)),
                 "profile": min(1.0, w.profile * state.profile), "avatar": w.avatar * state.avatar,
                 "network": w.network * state.network}
        top: list[dict[str, Any]] = []
        for name, value in sorted(parts.items(), key=lambda kv: -kv[1]):
            if value <= 0:
                continue
            entry: dict[str, Any] = {"signal": name, "contribution": round(value, 4)}
            if name == "posts":
                entry["posts"] = [c.to_json() for c in state.top_posts]
            elif name == "profile":
                entry["markers"] = list(state.profile_markers)
            elif name == "network":
                entry["neighbours"] = list(state.network_refs)
            top.append(entry)
        return {"score": round(self.score(state, at), 4), "posts_seen": state.posts, "top": top}
