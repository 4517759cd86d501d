"""What one pass of the pipeline produces: the records it took in and the decisions it made.

A :class:`Batch` is the unit the store writes in one transaction, so a batch's records, decisions, ledger
entries, review jobs and audit entries commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bastion.ingest.base import Quarantined
from bastion.policy.model import Decision
from bastion.records import Account, Edge, EnforcementEvent, Post, Report


@dataclass(slots=True)
class Batch:
    posts: list[Post] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    enforcement: list[EnforcementEvent] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    #: stored posts submitted again with other content: each becomes the post's next version
    revised: list[Post] = field(default_factory=list)

    def __len__(self) -> int:
        return (len(self.posts) + len(self.accounts) + len(self.edges) + len(self.reports)
                + len(self.enforcement) + len(self.quarantined))
