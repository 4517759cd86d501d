"""Evaluate a policy against the signals of one subject, producing an explained :class:`Decision`.

Rules are compiled once into closures; evaluation short-circuits and is cheap enough to run on every post.
A shadow rule's effects are recorded in ``shadow_actions`` and never enforced. Every decision names the
policy, rule and detector versions that produced it, a DSA reason category, and a human-readable explanation
built from the conditions that actually held.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bastion.policy.model import (
    Action,
    Condition,
    Decision,
    Effect,
    EffectKind,
    Policy,
    Rule,
    RuleStatus,
    Subject,
)
from bastion.signals import Signal

_CMP: dict[str, Callable[[float, float], bool]] = {
    "gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt, "eq": operator.eq,
}
_CMP_TEXT = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<", "eq": "="}


@dataclass(frozen=True, slots=True)
class Facts:
    """What a rule can look at: the subject's signals, and for reports the reporter kind."""

    signals: Mapping[str, Signal]
    reporter: str | None = None


_NO_FACTS = Facts({})

# A compiled condition returns None when it does not hold, else the list of reasons it holds.
Compiled = Callable[[Facts], list[str] | None]


def _compile(cond: Condition) -> Compiled:
    if cond.op == "signal":
        name, cmp, threshold = cond.signal or "", _CMP[cond.cmp or "gte"], float(cond.value)
        sym = _CMP_TEXT[cond.cmp or "gte"]

        def leaf(f: Facts) -> list[str] | None:
            sig = f.signals.get(name)
            # An unavailable signal never satisfies a comparison: missing evidence is not evidence.
            if sig is None or sig.unavailable is not None:
                return None
            return [f"{name}={sig.value:.3f} {sym} {threshold:g}"] if cmp(sig.value, threshold) else None

        return leaf
    if cond.op == "label":
        label = str(cond.value)

        def has_label(f: Facts) -> list[str] | None:
            for sig in f.signals.values():
                if label in sig.labels:
                    return [f"label {label!r} from {sig.name}"]
            return None

        return has_label
    if cond.op == "reporter":
        kind = str(cond.value)
        return lambda f: [f"reported by {kind}"] if f.reporter == kind else None
    children = [_compile(c) for c in cond.children]
    if cond.op == "not":
        inner = children[0]
        text = _describe(cond.children[0])
        return lambda f: [f"not ({text})"] if inner(f) is None else None
    if cond.op == "all":
        def all_of(f: Facts) -> list[str] | None:
            reasons: list[str] = []
            for child in children:
                r = child(f)
                if r is None:
                    return None
                reasons.extend(r)
            return reasons

        return all_of

    def any_of(f: Facts) -> list[str] | None:
        for child in children:
            r = child(f)
            if r is not None:
                return r
        return None

    return any_of


def _describe(cond: Condition) -> str:
    if cond.op == "signal":
        return f"{cond.signal} {_CMP_TEXT[cond.cmp or 'gte']} {cond.value:g}"
    if cond.op in ("label", "reporter"):
        return f"{cond.op} {cond.value}"
    joiner = " and " if cond.op == "all" else " or "
    inner = joiner.join(_describe(c) for c in cond.children)
    return f"not ({inner})" if cond.op == "not" else inner


def decision_id(subject: Subject, subject_id: str, policy: Policy, rules: Sequence[str] = ()) -> str:
    """Stable id: the same subject, under the same policy version, with the same rules firing, is the same
    decision - so a rescan or a retried delivery never enforces twice (idempotent ledger and sinks)."""
    key = "\x1f".join((subject.value, subject_id, policy.name, policy.version, *sorted(rules))).encode()
    return "dec_" + hashlib.sha256(key).hexdigest()[:24]


class PolicyEngine:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._compiled: dict[Subject, list[tuple[Rule, Compiled]]] = {
            s: [(r, _compile(r.when)) for r in policy.rules_for(s)] for s in Subject
        }
        self.versions_base = {"policy": policy.name, "policy_version": policy.version}
        self._no_evidence: dict[Subject, list[tuple[Rule, list[str]]]] = {
            s: [(rule, r) for rule, test in rules if (r := test(_NO_FACTS)) is not None]
            for s, rules in self._compiled.items()}

    def decide(
        self,
        subject: Subject,
        subject_id: str,
        signals: Mapping[str, Signal],
        *,
        now: datetime,
        account_id: str | None = None,
        reporter: str | None = None,
    ) -> Decision:
        if signals or reporter:
            facts = Facts(signals, reporter)
            matches = [(rule, r) for rule, test in self._compiled[subject] if (r := test(facts)) is not None]
        else:  # no evidence at all: the outcome is fixed per subject, computed once
            matches = self._no_evidence[subject]
        actions: list[Action] = []
        shadow: list[Action] = []
        lines: list[str] = []
        labels: list[str] = []
        category: str | None = None
        fired: list[str] = []
        matched: list[str] = []
        for rule, reasons in matches:
            is_shadow = rule.status == RuleStatus.SHADOW
            rule_ref = f"{rule.id}@{rule.version}"
            matched.append(rule_ref)
            for eff in rule.effects:
                act = _action(eff, rule_ref, self.policy, is_shadow)
                (shadow if is_shadow else actions).append(act)
                if eff.kind == EffectKind.LABEL and not is_shadow:
                    labels.append(str(eff.params.get("label")))
            verb = "would apply (shadow)" if is_shadow else "applies"
            effects = ", ".join(_effect_text(e) for e in rule.effects)
            lines.append(f"Rule {rule.id} {verb} [{effects}] because {'; '.join(reasons)}."
                         + (f" {rule.description}" if rule.description else ""))
            if not is_shadow:
                fired.append(rule_ref)
                category = category or rule.category.value
        scores = {name: round(sig.value, 6) for name, sig in signals.items() if sig.ok}
        unavailable = [f"{name} ({sig.unavailable})" for name, sig in signals.items() if not sig.ok]
        if unavailable:
            lines.append("Unavailable signals: " + ", ".join(unavailable) + ".")
        if not lines:
            lines.append("No rule applies." if signals else "No rule applies; no detector signals.")
        detectors = {sig.detector: sig.version for sig in signals.values()}
        versions: dict[str, Any] = {**self.versions_base, "rules": fired, "detectors": detectors}
        for sig in signals.values():
            model = sig.details.get("model_version") if sig.details else None
            if model:
                versions.setdefault("models", {})[sig.name] = model
        return Decision(
            id=decision_id(subject, subject_id, self.policy, matched),
            subject_kind=subject,
            subject_id=subject_id,
            account_id=account_id,
            created_at=now,
            scores=scores,
            labels=tuple(dict.fromkeys(labels)),
            actions=tuple(actions),
            shadow_actions=tuple(shadow),
            explanation=" ".join(lines),
            category=category,
            versions=versions,
            signals=tuple(sig.to_json() for sig in signals.values() if sig.spans or sig.labels or not sig.ok),
        )


def _action(eff: Effect, rule_ref: str, policy: Policy, shadow: bool) -> Action:
    return Action(action=eff.kind.value, rule=rule_ref, policy=f"{policy.name}@{policy.version}",
                  automated=True, shadow=shadow, params=dict(eff.params))


def _effect_text(eff: Effect) -> str:
    if not eff.params:
        return eff.kind.value
    inner = ", ".join(f"{k}={v}" for k, v in eff.params.items())
    return f"{eff.kind.value}({inner})"
