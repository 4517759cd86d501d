"""Action sinks: the things that carry out a decision's effects outside the store.

Rules emit effects; the store records them (ledger, review jobs); sinks perform the ones that reach other
systems: the security team's case queue (``escalate``), the platform's webhook. A sink returns extra
parameters for the action (e.g. the case id), which are recorded on the decision. A sink that fails records
the failure on the action (``sink_error``); the decision is never lost.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from bastion.errors import ConfigError
from bastion.pipeline.detector import PostContext
from bastion.policy.model import Action, Decision

log = logging.getLogger(__name__)


class ActionSink(Protocol):
    name: str
    #: action names this sink performs (e.g. {"escalate"})
    handles: frozenset[str]

    def perform(self, decision: Decision, action: Action, ctx: PostContext | None) -> Mapping[str, Any]:
        """Carry out ``action``; return parameters to record on it (e.g. ``{"case_id": ...}``)."""
        ...


SinkFactory = Callable[..., ActionSink]

#: Sinks that ship with Bastion, by stable name ("module:attribute"); built with ``engine=`` and options.
BUILTIN_SINKS: dict[str, str] = {
    "security": "bastion.threats.sink:SecuritySink",
}


def build_sinks(names: list[str], **kwargs: Any) -> list[ActionSink]:
    sinks = []
    for name in names:
        target = BUILTIN_SINKS.get(name)
        if target is None:
            raise ConfigError(f"unknown action sink {name!r}; known: {', '.join(BUILTIN_SINKS)}")
        module, attr = target.split(":")
        try:
            factory: SinkFactory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            log.warning("action sink %s unavailable: %s", name, exc)
            continue
        sinks.append(factory(**kwargs))
    return sinks


def available_sinks() -> list[str]:
    out = []
    for name, target in BUILTIN_SINKS.items():
        try:
            module, attr = target.split(":")
            getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        out.append(name)
    return out
