"""Active sampling: a low-priority ``learning`` queue of the posts whose labels would teach the model most
(issue #18), within the daily budget the policy's ``learning`` section sets.

Why these posts: the labels that move a model most are the ones it is *unsure* of near a threshold that
would act. In the default policy that is the removal threshold (0.95) of ``propaganda-remove``, the rule that
runs in shadow until a model earns it: a post is a candidate when its signal lies within ``band`` log-odds of
``around`` (closer is better) and no rule enforced or escalated it. Such a post is often in a policy review
queue already (everything from 0.6 up is); with ``reviewed: true`` (the default) it is still sampled, and one
person's decision on either job settles both (``bastion.review.decide``), so nobody reviews it twice; with
``reviewed: false`` only posts no rule sent to people are candidates. Two spreads keep the budget useful:

* **near-duplicates**: a campaign posts one text hundreds of times; a post's cluster is a sketch of its words
  (the three smallest word hashes), and each cluster gives at most ``per_cluster`` posts a day;
* **languages**: once candidates in a second language have been seen that day, no language takes more than
  ``max_language_share`` of the day's budget.

The selection is online (a stream has no end to wait for): within a batch candidates go closest first, and
the day's budget is spent as candidates come. ``strategy: random`` takes posts in arrival order regardless of
score - a uniform sample, the control that active sampling is measured against (bench/learning_loop.py).

A sampled post's decision gains one review action (rule ``learning-sample``), so the job is created, audited
and counted like any other; nothing is enforced. The day's count is restored from the store's review jobs at
start-up; the cluster memory is per process and per day.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from bastion.policy.model import ENFORCING, Action, Decision, EffectKind, LearningSpec, Subject
from bastion.signals import Signal

__all__ = ["RULE", "LearningSampler", "cluster_key"]

RULE = "learning-sample@1"
_WORD = re.compile(r"\w{3,}")
_NOISE = re.compile(r"https?://\S+|@\w+|\brt\b", re.I)
_ENFORCED = ENFORCING | {EffectKind.ESCALATE}
_ROUTED = _ENFORCED | {EffectKind.REVIEW}


def cluster_key(text: str) -> str:
    """Near-duplicates share it: the three smallest hashes of the post's distinct words (links, handles and
    ``RT`` left out, case folded), so a retweet or a copy with another link lands in one cluster."""
    words = set(_WORD.findall(_NOISE.sub(" ", text).casefold()))
    if not words:
        return "empty"
    hashes = sorted(int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "big") for w in words)
    return ".".join(f"{h:x}" for h in hashes[:3])


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


@dataclass(slots=True)
class _Day:
    day: date | None = None
    taken: int = 0
    by_lang: Counter[str] = field(default_factory=Counter)
    langs: set[str] = field(default_factory=set)  # languages among the day's candidates
    clusters: Counter[str] = field(default_factory=Counter)


class LearningSampler:
    """Adds the ``learning`` review action to the decisions of the posts it samples."""

    def __init__(self, spec: LearningSpec, policy_ref: str, taken_today: int = 0,
                 today: date | None = None) -> None:
        self.spec = spec
        self.policy_ref = policy_ref
        self._day = _Day(today, taken_today if today is not None else 0)

    @property
    def enabled(self) -> bool:
        return self.spec.daily_budget > 0

    def _room(self, lang: str) -> bool:
        """Whether ``lang`` is under its share of the day's budget (the budget itself is checked by the caller)."""
        d, s = self._day, self.spec
        cap = max(1, math.floor(s.max_language_share * s.daily_budget))
        return not (d.langs - {lang} and d.by_lang[lang] >= cap)

    def pick(self, decisions: Sequence[Decision], signals_by_post: Mapping[str, Mapping[str, Signal]],
             texts: Mapping[str, tuple[str, str | None]], now: datetime) -> list[Decision]:
        """``decisions`` with the sampled posts' decisions extended; ``texts``: post id -> (text, language)."""
        if not self.enabled:
            return list(decisions)
        if self._day.day != now.date():
            self._day = _Day(now.date())
        s = self.spec
        target = _logit(s.around)
        routed = _ENFORCED if s.reviewed else _ROUTED
        candidates: list[tuple[float, int, str, str, float]] = []
        for i, d in enumerate(decisions):
            if d.subject_kind != Subject.POST:
                continue
            if s.strategy == "uncertainty" and any(a.action in routed for a in d.actions):
                continue  # decided already, or (reviewed: false) people see it anyway
            sig = signals_by_post.get(d.subject_id, {}).get(s.signal)
            if sig is None or not sig.ok or d.subject_id not in texts:
                continue
            distance = abs(_logit(sig.value) - target)
            if s.strategy == "uncertainty" and distance > s.band:
                continue
            text, lang = texts[d.subject_id]
            lang = lang or str(sig.details.get("lang") or "und")
            order = distance if s.strategy == "uncertainty" else float(i)
            candidates.append((order, i, lang, text, sig.value))
        if not candidates:
            return list(decisions)
        out = list(decisions)
        self._day.langs.update(c[2] for c in candidates)
        for order, i, lang, text, value in sorted(candidates):
            if self._day.taken >= s.daily_budget:
                break
            if not self._room(lang):
                continue
            key = cluster_key(text)
            if self._day.clusters[key] >= s.per_cluster:
                continue
            self._day.clusters[key] += 1
            self._day.by_lang[lang] += 1
            self._day.taken += 1
            out[i] = _with_learning(out[i], s, self.policy_ref, value, order if s.strategy == "uncertainty"
                                    else None)
        return out


def _with_learning(d: Decision, s: LearningSpec, policy_ref: str, value: float, distance: float | None
                   ) -> Decision:
    params: dict[str, Any] = {"queue": s.queue, "priority": s.priority, "strategy": s.strategy}
    if distance is not None:
        params["distance"] = round(distance, 4)
    action = Action(EffectKind.REVIEW.value, RULE, policy_ref, params=params)
    why = (f"sampled for the {s.queue} queue: {s.signal} {value:.3f} near {s.around}" if distance is not None
           else f"sampled for the {s.queue} queue at random")
    return replace(d, actions=(*d.actions, action),
                   explanation=f"{d.explanation}; {why}" if d.explanation else why)
