"""Warnings about a policy that parses but probably does not do what its author means.

:func:`problems` lists what makes a rule, or a part of one, unable to ever do what it says, each at its line and
field path (``when.all[0].signal``), every one of them - and ``bastion policy check`` fails on them:

* a signal no detector emits (a typo such as ``propganda`` silently disables the rule), in a condition or in a
  ``<field>_from: SIGNAL`` effect parameter (which then fills nothing);
* a threshold outside the [0, 1] range every signal lives in (:class:`bastion.signals.Signal`);
* a label no detector can emit: one in a namespace whose every value a detector names (``stance:isue``);
* a reporter kind that does not exist (:class:`bastion.records.ReporterKind`);
* a rule that can never apply, or a branch of an ``any`` that can never hold: the engine itself is asked, for
  every value of the signals, labels and reporter the condition looks at that makes a difference (each signal
  absent, at a threshold or an end of its range, or between two of these; each label present or not), whether
  the rule fires. So a ``gt: 1`` or ``lt: 0``, ``gte: 0.8`` with ``lt: 0.5`` on one signal under ``all``, or a
  ``reporter`` in a post or account rule (only reports have a reporter) is found. Every rule whose condition
  holds applies - no rule stops the ones after it - so a rule is never hidden by another.

Unknown effects (actions) never get this far: the loader rejects them with the other field errors.

:func:`warnings` does not fail the check. A label that is in no detector's own vocabulary and in none of its
namespaces may still come from data (a media bank entry's tag, the category of a lexicon other than the shipped
one), so it is a warning. And a rule on the threat detector's signals that is also gated on a signal of another
detector: the threat detector judges the speech act itself (``threat_stance``); gating its rules on, say, the
propaganda model's ``reporting`` head lets a second model - one that reads a formally worded threat as news -
veto an escalation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import pairwise, product

from bastion.policy.engine import PolicyEngine
from bastion.policy.model import Condition, Policy, Rule, RuleStatus, Subject
from bastion.records import ReporterKind
from bastion.signals import Signal

THREAT_DETECTOR = "threat"
#: Signals of a shadow model end so (:mod:`bastion.text.registry`); no rule may read them.
SHADOW_SUFFIX = "_shadow"

#: The range of every signal's value (:class:`bastion.signals.Signal`).
LOW, HIGH = 0.0, 1.0
#: A condition needing more cases than this to search is taken to be reachable (no policy comes near it).
MAX_CASES = 100_000
_CARRIER = "\x00labels"  # the signal that carries the labels of a searched case
_NOW = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Labels:
    """The labels the detectors put on their signals: exact ``names``, and ``namespaces`` (``asset:``, ending in a
    colon) whose values come from data. A namespace some exact name uses (``stance:issue``) is closed."""

    names: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()

    @classmethod
    def of(cls, vocabulary: Iterable[str]) -> Labels:
        """From one list, in which an entry ending in ``:`` is an open namespace."""
        items = set(vocabulary)
        return cls(frozenset(i for i in items if not i.endswith(":")), frozenset(i for i in items if i.endswith(":")))

    def closed(self, label: str) -> list[str]:
        """The labels of ``label``'s namespace when no detector emits ``label`` although the namespace is closed;
        else (``label`` may be emitted, or may come from data) an empty list."""
        ns, sep, _ = label.partition(":")
        if label in self.names or not sep or f"{ns}:" in self.namespaces:
            return []
        return sorted(n for n in self.names if n.startswith(f"{ns}:"))

    def known(self, label: str) -> bool:
        return label in self.names or label.partition(":")[0] + ":" in self.namespaces


def _signals(c: Condition) -> Iterator[str]:
    if c.op == "signal" and c.signal:
        yield c.signal
    for child in c.children:
        yield from _signals(child)


def _walk(c: Condition, path: str) -> Iterator[tuple[Condition, str]]:
    """Every node of a condition tree with its field path (``when.any[1].all[0]``, ``when.not``)."""
    yield c, path
    for i, child in enumerate(c.children):
        yield from _walk(child, f"{path}.not" if c.op == "not" else f"{path}.{c.op}[{i}]")


def _at(policy: Policy, rule: Rule, line: int, path: str, message: str) -> str:
    return f"{policy.source}:{line or rule.line}: rule {rule.id!r} at {path}: {message}"


def problems(policy: Policy, owners: Mapping[str, str], labels: Labels | None = None) -> list[str]:
    """``file:line: rule 'id' at PATH: ...`` for every part of a rule that can never hold or do anything as written.
    ``owners`` maps a signal name to the detector that emits it; ``labels`` is what they label signals with (label
    conditions are not judged without it)."""
    out: list[str] = []
    known = ", ".join(sorted(owners))
    reporters = [k.value for k in ReporterKind]
    for rule in policy.rules:
        for node, path in _walk(rule.when, "when"):
            if node.op == "signal":
                name = node.signal or ""
                if name.endswith(SHADOW_SUFFIX):
                    out.append(_at(policy, rule, node.line, f"{path}.signal",
                                   f"{name!r} is a shadow model's score: recorded to compare models, never "
                                   "acted on (promote the model with bastion models promote instead)"))
                elif name not in owners:
                    out.append(_at(policy, rule, node.line, f"{path}.signal",
                                   f"no detector emits signal {name!r} (known: {known})"))
                value = float(node.value)
                if not LOW <= value <= HIGH:
                    out.append(_at(policy, rule, node.line, f"{path}.{node.cmp}",
                                   f"threshold {value:g} on {name!r} is outside [{LOW:g}, {HIGH:g}], the range of "
                                   "every signal"))
            elif node.op == "label" and labels is not None and (same := labels.closed(str(node.value))):
                out.append(_at(policy, rule, node.line, f"{path}.label",
                               f"no detector emits label {node.value!r} (known: {', '.join(same)})"))
            elif node.op == "reporter" and node.value not in reporters:
                out.append(_at(policy, rule, node.line, f"{path}.reporter",
                               f"reporter kind {node.value!r} is not one of: {', '.join(reporters)}"))
        for i, effect in enumerate(rule.effects):
            for key, source in effect.params.items():
                if key.endswith("_from") and str(source) not in owners:
                    out.append(_at(policy, rule, 0, f"effects[{i}].{effect.kind.value}.{key}",
                                   f"no detector emits signal {source!r}, so {key[:-len('_from')]!r} is always "
                                   f"empty (known: {known})"))
        for node, path in _unreachable(rule):
            if node is rule.when:
                message = f"the rule can never apply: {_why(rule, node)}"
            else:
                message = f"this condition can never hold, so this part of the rule never applies: {_why(rule, node)}"
            out.append(_at(policy, rule, node.line, path, message))
    learning = policy.learning
    if learning.daily_budget > 0 and learning.signal.endswith(SHADOW_SUFFIX):
        out.append(f"{policy.source}:{learning.line}: learning.signal: {learning.signal!r} is a shadow model's "
                   "score; the learning queue samples on the live model's")
    elif learning.daily_budget > 0 and learning.signal not in owners:
        out.append(f"{policy.source}:{learning.line}: learning.signal: no detector emits signal "
                   f"{learning.signal!r} for the learning queue to sample on (known: {known})")
    return out


def _why(rule: Rule, cond: Condition) -> str:
    if rule.subject != Subject.REPORT and not _never(replace(rule, subject=Subject.REPORT), cond):
        return f"only reports have a reporter, and this rule's subject is {rule.subject.value!r}"
    return (f"no values of its signals in [{LOW:g}, {HIGH:g}] (or their absence), labels or reporter kind "
            "satisfy it")


def _unreachable(rule: Rule) -> Iterator[tuple[Condition, str]]:
    """The outermost parts of ``rule``'s condition that can never hold: the whole condition, or branches of an
    ``any`` (under ``all`` or ``any``; what is under a ``not`` never holding is not the question here)."""

    def visit(c: Condition, path: str) -> Iterator[tuple[Condition, str]]:
        if _never(rule, c):
            yield c, path
        elif c.op in ("all", "any"):
            for i, child in enumerate(c.children):
                yield from visit(child, f"{path}.{c.op}[{i}]")

    return visit(rule.when, "when")


def _never(rule: Rule, cond: Condition) -> bool:
    """Whether the engine fires ``rule``, with ``cond`` for its condition, on no case that can occur: each signal
    ``cond`` compares absent, at one of its thresholds, at a range end or between two of these; each label it names
    present or not; any reporter kind for a report rule, none for another. False when there are too many cases."""
    points: dict[str, set[float]] = {}
    names: list[str] = []
    for node, _ in _walk(cond, ""):
        if node.op == "signal":
            cuts = points.setdefault(node.signal or "", {LOW, HIGH})
            if LOW <= float(node.value) <= HIGH:
                cuts.add(float(node.value))
        elif node.op == "label" and str(node.value) not in names:
            names.append(str(node.value))
    values: dict[str, list[float | None]] = {}
    for name, cuts in points.items():
        ordered = sorted(cuts)
        values[name] = [None, *ordered, *((a + b) / 2 for a, b in pairwise(ordered))]
    reporters: list[str | None] = ([k.value for k in ReporterKind] if rule.subject == Subject.REPORT else [None])
    if math.prod(len(v) for v in values.values()) * 2 ** len(names) * len(reporters) > MAX_CASES:
        return False
    probe = replace(rule, when=cond, status=RuleStatus.LIVE, stands_in_for=None)
    engine = PolicyEngine(Policy(name="lint", version="0", rules=(probe,), source="<lint>"))
    for case in product(*values.values()):
        signals = {name: Signal(name, v, "lint", "0") for name, v in zip(values, case, strict=True) if v is not None}
        for present in product((False, True), repeat=len(names)):
            carried = tuple(n for n, p in zip(names, present, strict=True) if p)
            sigs = {**signals, _CARRIER: Signal(_CARRIER, 0.0, "lint", "0", labels=carried)} if carried else signals
            for reporter in reporters:
                decision = engine.decide(rule.subject, "lint", sigs, now=_NOW, reporter=reporter)
                if probe.ref in decision.versions["rules"]:
                    return False
    return True


def warnings(policy: Policy, owners: Mapping[str, str], labels: Labels | None = None) -> list[str]:
    """``file:line: warning: ...`` for each label no detector names (it may still come from data), and each rule
    that mixes a threat signal with another detector's signals. ``owners`` maps a signal name to the detector that
    emits it (unknown signals are not judged here)."""
    out: list[str] = []
    for rule in policy.rules:
        for node, path in _walk(rule.when, "when"):
            if node.op != "label" or labels is None:
                continue
            label = str(node.value)
            if not labels.known(label) and not labels.closed(label):
                plain = ", ".join(sorted(n for n in labels.names if ":" not in n))
                spaces = ", ".join(sorted(labels.namespaces))
                out.append(f"{policy.source}:{node.line or rule.line}: warning: rule {rule.id!r} at {path}.label: "
                           f"no detector names label {label!r} itself (known: {plain}; namespaced: {spaces}); "
                           "only data - a media bank entry's tag, another lexicon's category - can put it on a "
                           "signal")
        signals = list(dict.fromkeys(_signals(rule.when)))
        if not any(owners.get(s) == THREAT_DETECTOR for s in signals):
            continue
        for s in signals:
            owner = owners.get(s)
            if owner is not None and owner != THREAT_DETECTOR:
                out.append(f"{policy.source}:{rule.line}: warning: rule {rule.id!r} gates a threat signal on "
                           f"{s!r} from the {owner!r} detector; the threat detector judges reporting, quoting "
                           "and condemnation itself - gate on 'threat_stance' instead")
    return out
