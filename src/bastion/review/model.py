"""The review vocabulary: outcomes a person can give, jobs and their SLA clocks, and the errors of the flow.

A review job asks a person one question about one subject (a post or an account): does it violate the
policy? The answer is an :class:`Outcome`. ``uphold`` confirms the violation (the subject is enforced if it
was not already); ``overturn``, ``journalism`` and ``counter_speech`` say it does not violate (any
enforcement on it is reversed, and the two labels keep the reason as training data); ``escalate`` hands it
to the security team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bastion.errors import BastionError
from bastion.policy.model import LearningSpec


class Outcome(StrEnum):
    UPHOLD = "uphold"
    OVERTURN = "overturn"
    ESCALATE = "escalate"
    JOURNALISM = "journalism"
    COUNTER_SPEECH = "counter_speech"

    @property
    def violating(self) -> bool | None:
        """True: a violation; False: none; None: not decided here (escalated)."""
        if self is Outcome.UPHOLD:
            return True
        if self is Outcome.ESCALATE:
            return None
        return False


class AppealOutcome(StrEnum):
    UPHELD = "upheld"
    OVERTURNED = "overturned"


#: Training label per outcome (reviewer decisions exported as labelled data).
LABELS: dict[str, str] = {
    Outcome.UPHOLD: "violating", Outcome.OVERTURN: "not_violating", Outcome.JOURNALISM: "journalism",
    Outcome.COUNTER_SPEECH: "counter_speech", AppealOutcome.UPHELD: "violating",
    AppealOutcome.OVERTURNED: "not_violating",
}

#: The queue active sampling fills (the policy's ``learning.queue`` default): a decision on one of its jobs and
#: on a policy job of the same decision settle each other (``bastion.review.decide``).
LEARNING_QUEUE = LearningSpec().queue

#: Default time to decision per queue when a job carries no deadline of its own. An authority's removal
#: order carries its own one-hour deadline (EU Regulation 2021/784, Art. 3(3)).
DEFAULT_SLA = timedelta(hours=24)
QUEUE_SLA: dict[str, timedelta] = {
    "removal-orders": timedelta(hours=1),
    "security": timedelta(hours=1),
    "threats": timedelta(hours=4),
    "reports": timedelta(hours=24),
    LEARNING_QUEUE: timedelta(days=7),  # labels for the next model: worth having, never urgent
}
#: Queues only the security team works.
SECURITY_QUEUES = frozenset({"security"})

#: Enforcing ledger actions a human decision can confirm or reverse.
ENFORCING_ACTIONS = ("remove_post", "suspend_account", "restrict_hashtag", "detrend_hashtag")


class ReviewError(BastionError):
    """A review action that cannot be done as asked (wrong state, wrong reviewer)."""

    exit_code = 2


class LeaseConflict(ReviewError):
    """The job or appeal is leased by someone else (two reviewers never work the same item)."""


def sla_for(queue: str) -> timedelta:
    return QUEUE_SLA.get(queue, DEFAULT_SLA)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    queue: str
    subject_kind: str
    subject_id: str
    decision_id: str | None
    priority: int
    created_at: datetime
    deadline: datetime | None
    state: str
    lease_owner: str | None
    lease_expires: datetime | None
    outcome: str | None
    decided_by: str | None
    decided_at: datetime | None
    notes: str | None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})

    @property
    def due(self) -> datetime:
        """The SLA deadline: the job's own (a removal order's) or the queue's default."""
        return self.deadline or self.created_at + sla_for(self.queue)

    def remaining(self, now: datetime) -> timedelta:
        return self.due - now

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, v in list(out.items()):
            if isinstance(v, datetime):
                out[k] = v.isoformat()
        out["due"] = self.due.isoformat()
        if now is not None:
            out["seconds_left"] = int(self.remaining(now).total_seconds())
        return out
