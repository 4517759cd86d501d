"""The policy's vocabulary: rules over signals, the effects they emit, and the decisions they make.

A *policy* is a named, versioned list of *rules*. A rule has a status (``live`` rules are enforced,
``shadow`` rules are evaluated and recorded but never enforced, ``draft`` rules are not evaluated), a subject
(``post``, ``account`` or ``report``), a condition tree over signals, and a list of *effects*. Evaluating a
policy against one subject yields one :class:`Decision`, whose :class:`Action` list says what was done and
why, with every version that produced it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bastion.errors import PolicyError
from bastion.records import empty


class RuleStatus(StrEnum):
    LIVE = "live"
    SHADOW = "shadow"
    DRAFT = "draft"


class Subject(StrEnum):
    POST = "post"
    ACCOUNT = "account"
    REPORT = "report"


class EffectKind(StrEnum):
    REMOVE_POST = "remove_post"
    SUSPEND_ACCOUNT = "suspend_account"
    RESTRICT_HASHTAG = "restrict_hashtag"
    DETREND_HASHTAG = "detrend_hashtag"
    ESCALATE = "escalate"
    REVIEW = "review"
    LABEL = "label"


#: Effects that change what the public sees; the rest are routing (review, escalate) or annotation.
ENFORCING = frozenset({EffectKind.REMOVE_POST, EffectKind.SUSPEND_ACCOUNT, EffectKind.RESTRICT_HASHTAG,
                       EffectKind.DETREND_HASHTAG})


class ReasonCategory(StrEnum):
    """EU DSA statement-of-reasons categories (Transparency Database schema) Bastion's rules map onto."""

    RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"
    ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE = "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    SCOPE_OF_PLATFORM_SERVICE = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"


@dataclass(frozen=True, slots=True)
class Effect:
    kind: EffectKind
    params: Mapping[str, Any] = field(default_factory=empty)


@dataclass(frozen=True, slots=True)
class Condition:
    """A node of a rule's condition tree.

    ``op`` is ``all`` / ``any`` / ``not`` (with ``children``) or a leaf: ``signal`` (compare a signal's value
    with ``cmp`` / ``value``), ``label`` (some signal carries the label ``value``), ``reporter`` (the report's
    reporter kind equals ``value``).
    """

    op: str
    children: tuple[Condition, ...] = ()
    signal: str | None = None
    cmp: str | None = None
    value: Any = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    status: RuleStatus
    subject: Subject
    when: Condition
    effects: tuple[Effect, ...]
    category: ReasonCategory
    description: str = ""
    version: str = "1"
    line: int = 0
    stands_in_for: str | None = None  # a live rule covering for this shadow rule; retired when it goes live

    @property
    def ref(self) -> str:
        """How decisions and actions name the rule: ``id@version``."""
        return f"{self.id}@{self.version}"


@dataclass(frozen=True, slots=True)
class LearningSpec:
    """The policy's ``learning`` section: a low-priority queue of posts whose labels would teach the model
    most, within a daily budget (``0`` turns it off). See :mod:`bastion.review.learning`."""

    daily_budget: int = 0
    signal: str = "propaganda"
    around: float = 0.95  # the threshold to sample around: the default policy's removal threshold
    reviewed: bool = True  # posts already in a review queue count too (one person's decision settles both jobs)
    band: float = 1.5  # the widest distance from it accepted, in log-odds
    strategy: str = "uncertainty"  # or "random" (a uniform sample: the control)
    queue: str = "learning"
    priority: int = 9
    per_cluster: int = 1  # posts per near-duplicate cluster per day
    max_language_share: float = 0.6  # of the day's budget, once another language has been seen
    line: int = 0

    STRATEGIES = ("uncertainty", "random")


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str
    rules: tuple[Rule, ...]
    source: str = "<memory>"
    learning: LearningSpec = field(default_factory=LearningSpec)

    def rules_for(self, subject: Subject) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.subject == subject and r.status != RuleStatus.DRAFT)

    def promote(self, rule_ids: Iterable[str]) -> Policy:
        """This policy with the named shadow or draft rules made live (a deployment's decision, recorded in
        the policy version as ``+live:<ids>``). A rule that ``stands_in_for`` a promoted rule is retired
        (draft). Raises :class:`PolicyError` for an id the policy lacks."""
        wanted = sorted(set(rule_ids))
        if not wanted:
            return self
        known = {r.id for r in self.rules}
        missing = [i for i in wanted if i not in known]
        if missing:
            raise PolicyError([f"{self.source}: cannot make live rules that do not exist: {', '.join(missing)}"])

        def status(r: Rule) -> RuleStatus:
            if r.id in wanted:
                return RuleStatus.LIVE
            return RuleStatus.DRAFT if r.stands_in_for in wanted else r.status

        rules = tuple(replace(r, status=status(r)) for r in self.rules)
        return replace(self, rules=rules, version=f"{self.version}+live:{','.join(wanted)}")

@dataclass(frozen=True, slots=True)
class Action:
    """One effect a decision carries out (or, for shadow rules, would have)."""

    action: str
    rule: str
    policy: str
    automated: bool = True
    shadow: bool = False
    params: Mapping[str, Any] = field(default_factory=empty)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Action:
        """The action :meth:`to_json` wrote: its fixed fields, and every other key a parameter."""
        fixed = {"action", "rule", "policy", "automated", "shadow"}
        return cls(action=str(obj["action"]), rule=str(obj["rule"]), policy=str(obj["policy"]),
                   automated=bool(obj.get("automated", True)), shadow=bool(obj.get("shadow", False)),
                   params={k: v for k, v in obj.items() if k not in fixed})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "rule": self.rule, "policy": self.policy,
                               "automated": self.automated}
        if self.shadow:
            out["shadow"] = True
        out.update(self.params)
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided about one subject, with everything needed to explain and audit it."""

    id: str
    subject_kind: Subject
    subject_id: str
    account_id: str | None
    created_at: datetime
    scores: Mapping[str, float]
    labels: tuple[str, ...]
    actions: tuple[Action, ...]
    shadow_actions: tuple[Action, ...]
    explanation: str
    category: str | None
    versions: Mapping[str, Any]
    signals: tuple[Mapping[str, Any], ...] = ()

    @property
    def enforced(self) -> bool:
        return any(a.action in ENFORCING for a in self.actions)

    def to_json(self) -> dict[str, Any]:
        """The ``--out`` shape: one object per subject."""
        return {
            "id": self.subject_id,
            "decision_id": self.id,
            "subject": str(self.subject_kind),
            "account_id": self.account_id,
            "scores": dict(self.scores),
            "labels": list(self.labels),
            "actions": [a.to_json() for a in self.actions],
            "shadow_actions": [a.to_json() for a in self.shadow_actions],
            "category": self.category,
            "explanation": self.explanation,
            "versions": dict(self.versions),
            "created_at": self.created_at.isoformat(),
        }

    def to_record(self) -> dict[str, Any]:
        """Everything the decision holds, signals included: what :meth:`from_record` rebuilds it from (a
        decision made on one machine and stored on another)."""
        return {**self.to_json(), "signals": [dict(s) for s in self.signals]}

    @classmethod
    def from_record(cls, obj: Mapping[str, Any]) -> Decision:
        return cls(id=str(obj["decision_id"]), subject_kind=Subject(obj["subject"]), subject_id=str(obj["id"]),
                   account_id=obj.get("account_id"), created_at=datetime.fromisoformat(obj["created_at"]),
                   scores=dict(obj.get("scores", {})), labels=tuple(obj.get("labels", ())),
                   actions=tuple(Action.from_json(a) for a in obj.get("actions", ())),
                   shadow_actions=tuple(Action.from_json(a) for a in obj.get("shadow_actions", ())),
                   explanation=str(obj.get("explanation", "")), category=obj.get("category"),
                   versions=dict(obj.get("versions", {})), signals=tuple(obj.get("signals", ())))
