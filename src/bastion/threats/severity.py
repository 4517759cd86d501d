"""How serious is a threat? An explainable score and level, after behavioural threat assessment.

Why these factors: threat-assessment practice (e.g. the US Secret Service's and FBI's behavioural threat
assessment guides, and the TRAP-18 framework) weighs *specificity* (a named target, place, time, method -
the more of them, the more the statement reads as a plan), the *wording of intent* (a direct first-person
commitment over a veiled or conditional one; a call on others - "lone wolves", "sleeper cells" - as
incitement), *identification* with a violent group and *fixation* on a target (here: the author's
propaganda and account-risk signals, and whether the post is part of a hashtag campaign), and whether the
target is one the organisation protects. Each factor contributes a weighted amount; the score is
``1 - exp(-sum)`` so contributions add up, saturate, and stay readable. Weights are configurable (YAML or a
mapping) so the security team can tune them without touching code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.threats.extraction import Extraction
from bastion.threats.intent import IntentResult

DEFAULT_WEIGHTS: Mapping[str, float] = {
    # wording of intent
    "intent_explicit": 0.55,
    "intent_incitement": 0.5,
    "intent_veiled": 0.45,
    "intent_conditional": 0.35,
    "intent_wish": 0.2,
    "intent_directed": 0.3,
    "intent_other": 0.15,
    # specificity
    "named_target": 0.25,   # a person, role or group named, or a mention
    "place": 0.2,
    "time": 0.25,
    "method": 0.25,
    "actor": 0.15,          # who is to act: cells, lone wolves, "we"
    # protected assets
    "asset_person": 0.45,
    "asset_staff": 0.35,
    "asset_office": 0.35,
    "asset_organisation": 0.2,
    # context from earlier detectors
    "propaganda": 0.35,
    "account_risk": 0.35,
    "campaign": 0.3,
    # mitigation (negative)
    "mitigated": -0.5,
}

#: Level thresholds on the score: low < elevated < high < imminent.
DEFAULT_LEVELS: Mapping[str, float] = {"elevated": 0.3, "high": 0.55, "imminent": 0.85}
LEVELS = ("low", "elevated", "high", "imminent")


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

    def assess(self, threat_probability: float, intent: IntentResult, ext: Extraction,
               context: Mapping[str, float]) -> Severity:
        w = self.weights
        f: dict[str, float] = {}
        kinds = {k for k in ("explicit", "incitement", "veiled", "conditional", "wish", "directed")
                 if intent.features.get(k)}
        for k in kinds:
            f[f"intent_{k}"] = w[f"intent_{k}"]
        if not kinds and intent.features.get("violence"):
            f["intent_other"] = w["intent_other"]
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
            key = {"leader": "asset_person", "staff": "asset_staff", "office": "asset_office",
                   "organisation": "asset_organisation"}[kind]
            f[key] = w[key]
        for name in ("propaganda", "account_risk", "campaign"):
            value = context.get(name, 0.0)
            if value > 0:
                f[name] = w[name] * value
        if intent.mitigations:
            f["mitigated"] = w["mitigated"] * len(intent.mitigations)
        total = sum(f.values())
        # the threat probability gates severity: a post that is unlikely to be a threat is not severe
        score = (1.0 - math.exp(-max(0.0, total))) * min(1.0, threat_probability / 0.5)
        return Severity(score=score, level=self.level_of(score, time_named=bool(ext.times)), factors=f)
