"""Warnings about a policy that parses but probably does not do what its author means.

Today one check: a rule on the threat detector's signals that is also gated on a signal of another detector.
The threat detector judges the speech act itself (``threat_stance``); gating its rules on, say, the propaganda
model's ``reporting`` head lets a second model - one that reads a formally worded threat as news - veto an
escalation. ``bastion policy check`` prints the warnings; they do not fail it.
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
