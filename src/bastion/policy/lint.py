"""Warnings about a policy that parses but probably does not do what its author means.

:func:`problems` lists what makes a rule unable to ever do what it says - a signal no detector emits (a typo such
as ``propganda`` silently disables the rule) or a threshold outside the [0, 1] range every signal lives in - and
``bastion policy check`` fails on them. :func:`warnings`: a rule on the threat detector's signals that is also
gated on a signal of another detector. The threat detector judges the speech act itself (``threat_stance``);
gating its rules on, say, the propaganda model's ``reporting`` head lets a second model - one that reads a
formally worded threat as news - veto an escalation. ``bastion policy check`` prints the warnings; they do not fail it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from bastion.policy.model import Condition, Policy

THREAT_DETECTOR = "threat"


def _signals(c: Condition) -> Iterator[str]:
    if c.op == "signal" and c.signal:
        yield c.signal
    for child in c.children:
        yield from _signals(child)


def _leaves(c: Condition) -> Iterator[Condition]:
    if c.op == "signal":
        yield c
    for child in c.children:
        yield from _leaves(child)


def problems(policy: Policy, owners: Mapping[str, str]) -> list[str]:
    """``file:line: rule 'id': ...`` for every condition that can never hold as written."""
    out: list[str] = []
    known = ", ".join(sorted(owners))
    for rule in policy.rules:
        for leaf in _leaves(rule.when):
            name = leaf.signal or ""
            if name not in owners:
                out.append(f"{policy.source}:{rule.line}: rule {rule.id!r}: no detector emits signal {name!r} "
                           f"(known: {known})")
            value = float(leaf.value)
            if not 0.0 <= value <= 1.0:
                out.append(f"{policy.source}:{rule.line}: rule {rule.id!r}: threshold {value:g} on {name!r} is "
                           "outside [0, 1], the range of every signal")
    return out


def warnings(policy: Policy, owners: Mapping[str, str]) -> list[str]:
    """``file:line: warning: ...`` for each rule that mixes a threat signal with another detector's signals.
    ``owners`` maps a signal name to the detector that emits it (unknown signals are not judged here)."""
    out: list[str] = []
    for rule in policy.rules:
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
