"""Action sinks: the things that carry out a decision's effects outside the store.

Rules emit effects; the store records them (ledger, review jobs); sinks perform the ones that reach other
systems: the security team's case queue (``escalate``), the platform's webhook. A sink returns extra
parameters for the action (e.g. the case id), which are recorded on the decision. A sink that fails records
the failure on the action (``sink_error``); the decision is never lost. The sinks that ship are named in
:mod:`bastion.catalogue`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bastion.detector import PostContext
from bastion.policy.model import Action, Decision

log = logging.getLogger(__name__)


class ActionSink(Protocol):
    name: str
    #: action names this sink performs (e.g. {"escalate"})
    handles: frozenset[str]

    def perform(self, decision: Decision, action: Action, ctx: PostContext | None) -> Mapping[str, Any]:
        """Carry out ``action``; return parameters to record on it (e.g. ``{"case_id": ...}``)."""
        ...


class BatchActionSink(ActionSink, Protocol):
    """A sink that can also carry out a whole batch's actions at once (e.g. in one transaction). The pipeline
    prefers :meth:`perform_many` where a sink has it, and falls back on :meth:`perform` action by action when it
    raises, so it must write nothing unless it succeeds."""

    def perform_many(self, calls: Sequence[tuple[Decision, Action, PostContext | None]]
                     ) -> Sequence[Mapping[str, Any]]:
        """:meth:`perform` for each ``(decision, action, ctx)``, in order; the same results."""
        ...
