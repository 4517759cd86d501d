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
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
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
NO_SIGNALS = "No rule applies; no detector signals."
_EMPTY_SCORES: Mapping[str, float] = MappingProxyType({})

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


def decision_id(subject: Subject, subject_id: str, policy: Policy, rules: Sequence[str] = (),
                content: str | None = None) -> str:
    """Stable id, so a rescan, a rerun after a crash or a retried delivery never enforces twice.

    With ``content`` (a post's :meth:`~bastion.records.Post.content_digest`): the subject, what it says and the
    policy version - whatever detector state a rerun starts from, the same post under the same policy is the
    same decision, and the first one stored stands. Without (accounts, reports, whose evidence grows): the
    subject, the policy version and the rules that fired.
    """
    return _hashed_id(subject, subject_id, _content_suffix(policy, content) if content is not None
                      else _id_suffix(policy, rules))


def _content_suffix(policy: Policy, content: str) -> str:
    return "\x1f".join((policy.name, policy.version, "content", content))


def _id_suffix(policy: Policy, rules: Sequence[str]) -> str:
    """The part of a decision id's key after the subject: the same for every subject of one outcome."""
    return "\x1f".join((policy.name, policy.version, *sorted(rules)))


def _hashed_id(subject: Subject, subject_id: str, suffix: str) -> str:
    key = f"{subject.value}\x1f{subject_id}\x1f{suffix}".encode()
    return "dec_" + hashlib.sha256(key).hexdigest()[:24]


def sampled(action: Action, subject_id: str) -> bool:
    """Whether a review action with a ``sample`` share is taken for this subject: a keyed hash of the rule and
    the subject against the share, so the same subject is always in or out (a rescan, a replay and a worker
    agree) and the share of subjects taken is the share asked for. Actions without ``sample`` are taken."""
    share = action.params.get("sample")
    if share is None:
        return True
    digest = hashlib.blake2b(f"{action.rule}\x1f{subject_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < float(share) * 2.0**64


def _take(actions: tuple[Action, ...], subject_id: str) -> tuple[Action, ...]:
    return tuple(a for a in actions if sampled(a, subject_id))


def _taken(out: _Outcome, subject_id: str) -> tuple[tuple[Action, ...], tuple[Action, ...]]:
    """An outcome's live and shadow actions for this subject (sampled reviews decided)."""
    if not out.sampled:
        return out.actions, out.shadow
    return _take(out.actions, subject_id), _take(out.shadow, subject_id)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A rule with everything about it that does not depend on the subject, computed once."""

    rule: Rule
    test: Compiled
    ref: str
    shadow: bool
    actions: tuple[Action, ...]
    labels: tuple[str, ...]
    head: str  # "Rule X applies [effects] because "
    tail: str  # ". description"


def _prepare(rule: Rule, policy: Policy) -> _Prepared:
    shadow = rule.status == RuleStatus.SHADOW
    ref = rule.ref
    verb = "would apply (shadow)" if shadow else "applies"
    effects = ", ".join(_effect_text(e) for e in rule.effects)
    labels = () if shadow else tuple(str(e.params.get("label")) for e in rule.effects if e.kind == EffectKind.LABEL)
    return _Prepared(rule, _compile(rule.when), ref, shadow,
                     tuple(_action(e, ref, policy, shadow) for e in rule.effects), labels,
                     f"Rule {rule.id} {verb} [{effects}] because ",
                     "." + (f" {rule.description}" if rule.description else ""))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What the matching rules make of a subject: everything of a decision but its subject and signals."""

    id_suffix: str  # the part of the decision id's key after the subject id
    actions: tuple[Action, ...]
    shadow: tuple[Action, ...]
    labels: tuple[str, ...]
    lines: tuple[str, ...]
    category: str | None
    fired: tuple[str, ...]
    sampled: bool = False  # some action is taken for a sample of subjects only (see :func:`sampled`)


class PolicyEngine:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._rules: dict[Subject, list[_Prepared]] = {
            s: [_prepare(r, policy) for r in policy.rules_for(s)] for s in Subject}
        self.versions_base = {"policy": policy.name, "policy_version": policy.version}
        # no evidence at all: the outcome is fixed per subject, computed once
        self._no_evidence: dict[Subject, _Outcome] = {
            s: self._outcome([(p, r) for p in rules if (r := p.test(_NO_FACTS)) is not None])
            for s, rules in self._rules.items()}
        self._no_evidence_text: dict[Subject, tuple[str, Mapping[str, Any]]] = {
            s: (" ".join(out.lines) or NO_SIGNALS,
                MappingProxyType({**self.versions_base, "rules": list(out.fired), "detectors": {}}))
            for s, out in self._no_evidence.items()}

    def _outcome(self, matches: list[tuple[_Prepared, list[str]]]) -> _Outcome:
        actions: list[Action] = []
        shadow: list[Action] = []
        labels: list[str] = []
        lines: list[str] = []
        fired: list[str] = []
        category: str | None = None
        for prep, reasons in matches:
            (shadow if prep.shadow else actions).extend(prep.actions)
            labels.extend(prep.labels)
            lines.append(prep.head + "; ".join(reasons) + prep.tail)
            if not prep.shadow:
                fired.append(prep.ref)
                category = category or prep.rule.category.value
        suffix = _id_suffix(self.policy, [p.ref for p, _ in matches])
        return _Outcome(suffix, tuple(actions), tuple(shadow), tuple(dict.fromkeys(labels)),
                        tuple(lines), category, tuple(fired),
                        any("sample" in a.params for a in (*actions, *shadow)))

    def actions(self, subject: Subject, signals: Mapping[str, Signal], subject_id: str | None = None
                ) -> tuple[Action, ...]:
        """The live actions :meth:`decide` would take on these signals - without building the decision (its
        explanation, scores and versions), for callers that only ask what the policy would do. A sampled
        review (``sample``) is decided for ``subject_id``; without one it is counted as taken."""
        facts = Facts(signals)
        out: list[Action] = []
        for prep in self._rules[subject]:
            if not prep.shadow and prep.test(facts) is not None:
                out.extend(prep.actions)
        return tuple(out) if subject_id is None else _take(tuple(out), subject_id)

    def decide(
        self,
        subject: Subject,
        subject_id: str,
        signals: Mapping[str, Signal],
        *,
        now: datetime,
        account_id: str | None = None,
        reporter: str | None = None,
        content: str | None = None,
    ) -> Decision:
        """``content``: the subject's content digest, which keys the decision id (see :func:`decision_id`)."""
        if not signals and not reporter:  # the outcome, explanation and versions are fixed: built once
            out = self._no_evidence[subject]
            explanation, fixed = self._no_evidence_text[subject]
            suffix = out.id_suffix if content is None else _content_suffix(self.policy, content)
            actions, shadow = _taken(out, subject_id)
            return Decision(id=_hashed_id(subject, subject_id, suffix), subject_kind=subject,
                            subject_id=subject_id, account_id=account_id, created_at=now,
                            scores=_EMPTY_SCORES, labels=out.labels, actions=actions, shadow_actions=shadow,
                            explanation=explanation, category=out.category,
                            versions=fixed)
        facts = Facts(signals, reporter)
        out = self._outcome([(p, r) for p in self._rules[subject] if (r := p.test(facts)) is not None])
        lines = list(out.lines)
        scores = {name: round(sig.value, 6) for name, sig in signals.items() if sig.ok}
        unavailable = [f"{name} ({sig.unavailable})" for name, sig in signals.items() if not sig.ok]
        if unavailable:
            lines.append("Unavailable signals: " + ", ".join(unavailable) + ".")
        if not lines:
            lines.append("No rule applies." if signals else NO_SIGNALS)
        detectors = {sig.detector: sig.version for sig in signals.values()}
        actions, shadow = _taken(out, subject_id)
        versions: dict[str, Any] = {**self.versions_base, "rules": list(out.fired), "detectors": detectors}
        for sig in signals.values():
            model = sig.details.get("model_version") if sig.details else None
            if model:
                versions.setdefault("models", {})[sig.name] = model
        return Decision(
            id=_hashed_id(subject, subject_id, out.id_suffix if content is None
                          else _content_suffix(self.policy, content)),
            subject_kind=subject,
            subject_id=subject_id,
            account_id=account_id,
            created_at=now,
            scores=scores,
            labels=out.labels,
            actions=actions,
            shadow_actions=shadow,
            explanation=" ".join(lines),
            category=out.category,
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


def resolve_params(decision: Decision, signals: Mapping[str, Signal]) -> Decision:
    """Fill declarative ``<field>_from: SIGNAL`` effect parameters from that signal's details.

    E.g. ``detrend_hashtag: {hashtags_from: campaign}`` de-trends exactly the hashtags the campaign detector
    names (a barrage's own hashtags), not every hashtag on the post (a hijacked public hashtag stays)."""
    if not any(k.endswith("_from") for a in decision.actions for k in a.params):
        return decision
    actions = []
    for act in decision.actions:
        params = dict(act.params)
        for key, source in act.params.items():
            if key.endswith("_from"):
                sig = signals.get(str(source))
                value = sig.details.get(key[: -len("_from")]) if sig is not None and sig.ok else None
                params[key[: -len("_from")]] = list(value) if isinstance(value, list | tuple) else []
        actions.append(replace(act, params=params))
    return replace(decision, actions=tuple(actions))
