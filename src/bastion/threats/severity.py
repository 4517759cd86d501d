"""How serious is a threat? An explainable score and level, after behavioural threat assessment.

Why these factors: threat-assessment practice (e.g. the US Secret Service's and FBI's behavioural threat
assessment guides, and the TRAP-18 framework) weighs *specificity* (a named target, place, time, method -
the more of them, the more the statement reads as a plan), the *form of the threat* (a direct first-person
commitment; a conditional ultimatum or a veiled "we know where your office is" aimed at a named target, which
in practice precede attacks as often as explicit threats do; a call on others - "lone wolves", "sleeper cells"
- as incitement), whether the act is lethal, *identification* with a violent group and *fixation* on a target
(here: the author's propaganda and account-risk signals, and whether the post is part of a hashtag campaign),
and whether the target is one the organisation protects. Each factor contributes a weighted amount; the score
is ``1 - exp(-sum)`` so contributions add up, saturate, and stay readable, and it is scaled by how likely the
post is a threat at all. Weights are configurable (YAML or a mapping) so the security team can tune them
without touching code.

A generic insult with a violent word ("you idiot, I'll slap you") has a non-lethal act, no named target and no
place: it stays low.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.threats.extraction import Extraction

DEFAULT_WEIGHTS: Mapping[str, float] = {
    # form of the threat (from the stance model's form head)
    "form_direct": 0.4,
    "form_conditional": 0.35,
    "form_veiled": 0.35,
    "form_incitement": 0.4,
    "form_second_person": 0.3,
    "form_normative": 0.3,
    "form_death_wish": 0.2,
    # what is threatened
    "lethal": 0.2,          # killing, bombing, burning, a weapon - not a slap
    # specificity
    "named_target": 0.25,   # a person, role or group named, or a mention
    "place": 0.2,
    "time": 0.25,
    "method": 0.25,
    "actor": 0.15,          # who is to act: cells, lone wolves
    # protected assets
    "asset_person": 0.45,
    "asset_staff": 0.4,
    "asset_office": 0.4,
    "asset_organisation": 0.2,
    # context from earlier detectors
    "propaganda": 0.35,
    "account_risk": 0.35,
    "campaign": 0.3,
}

#: Level thresholds on the score: low < elevated < high < imminent.
DEFAULT_LEVELS: Mapping[str, float] = {"elevated": 0.3, "high": 0.55, "imminent": 0.85}
LEVELS = ("low", "elevated", "high", "imminent")
_ASSET_FACTOR = {"leader": "asset_person", "staff": "asset_staff", "office": "asset_office",
                 "organisation": "asset_organisation"}


@dataclass(frozen=True, slots=True)
class Severity:
    score: float
    level: str
    factors: Mapping[str, float]  # factor -> contribution

    def to_json(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "level": self.level,
                "factors": {k: round(v, 4) for k, v in self.factors.items()}}



class SeverityModel:
    """Configured weights and level thresholds; :meth:`assess` is pure."""

    def __init__(self, weights: Mapping[str, float] | None = None,
                 levels: Mapping[str, float] | None = None) -> None:
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.levels = {**DEFAULT_LEVELS, **(levels or {})}

    def level_of(self, score: float, *, time_named: bool) -> str:
        if score >= self.levels["imminent"] and time_named:
            return "imminent"  # imminent needs a time: a plan for when, not only how strongly worded
        if score >= self.levels["high"]:
            return "high"
        if score >= self.levels["elevated"]:
            return "elevated"
        return "low"

    def assess(self, threat_probability: float, form: str | None, ext: Extraction, context: Mapping[str, float],
               *, lethal: bool) -> Severity:
        w = self.weights
        f: dict[str, float] = {}
        if form is not None and f"form_{form}" in w:
            f[f"form_{form}"] = w[f"form_{form}"]
        if lethal:
            f["lethal"] = w["lethal"]
        if any(k in ("person", "role", "group", "organisation") for k in ext.target_kinds):
            f["named_target"] = w["named_target"]
        if ext.places:
            f["place"] = w["place"]
        if ext.times:
            f["time"] = w["time"]
        if ext.methods:
            f["method"] = w["method"]
        if any(a.text.lower() not in ("i", "we", "ich", "wir") for a in ext.actors):
            f["actor"] = w["actor"]
        for kind in ext.asset_kinds:
            key = _ASSET_FACTOR[kind]
            f[key] = w[key]
        for name in ("propaganda", "account_risk", "campaign"):
            value = context.get(name, 0.0)
            if value > 0:
                f[name] = w[name] * value
        total = sum(f.values())
        # the threat probability gates severity: a post that is unlikely to be a threat is not severe
        score = (1.0 - math.exp(-max(0.0, total))) * min(1.0, threat_probability / 0.5)
        return Severity(score=score, level=self.level_of(score, time_named=bool(ext.times)), factors=f)
