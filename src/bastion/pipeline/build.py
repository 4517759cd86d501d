"""Assemble a :class:`Pipeline` from :class:`Settings` (the one place the edge wires the core together)."""

from __future__ import annotations

import gc
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bastion import catalogue
from bastion.ingest import Item, read
from bastion.pipeline.runtime import Pipeline
from bastion.pipeline.workers import can_fork, usable_cores
from bastion.policy.engine import PolicyEngine
from bastion.policy.loader import load_policy
from bastion.policy.model import Decision
from bastion.settings import Settings
from bastion.store.db import open_engine
from bastion.store.writer import Store

log = logging.getLogger(__name__)


def iter_inputs(paths: Sequence[Path], fmt: str = "auto") -> Iterator[Item]:
    return itertools.chain.from_iterable(read(p, fmt) for p in paths)


GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Garbage-collector settings for a long-running process (scan, serve), called at the edge once the
    pipeline is built: the objects made at start-up (models, lexicon, policy) are frozen out of every
    collection, and the youngest generation is collected after 50,000 allocations instead of 700, so the
    records and decisions a batch keeps alive are not rescanned again and again (about 15% of a scan's CPU
    with detectors off). Cycles are still collected; memory stays bounded by the batch."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def build_pipeline(settings: Settings, *, on_decision: Callable[[Decision], None] | None = None,
                   bulk: bool = False) -> tuple[Pipeline, list[str]]:
    """The pipeline ``settings`` describe; ``bulk`` for a scan (see :func:`bastion.store.db.open_engine`)."""
    engine = open_engine(settings.db_url, bulk=bulk)
    policy = load_policy(settings.policy).promote(settings.live_rules)
    names = catalogue.parse_names(settings.detectors)
    detectors = catalogue.build(names, settings.detector_options, settings)
    sinks = catalogue.build_sinks(list(catalogue.BUILTIN_SINKS), engine=engine) if names else []
    pipeline = Pipeline(engine=PolicyEngine(policy), detectors=detectors, store=Store(engine), sinks=sinks,
                        batch_size=settings.batch_size, on_decision=on_decision,
                        webhook=bool(settings.webhook_url), workers=scan_workers(settings))
    return pipeline, names


def scan_workers(settings: Settings) -> int:
    """Detection processes for :meth:`Pipeline.run`: the setting, or every usable core; one without fork."""
    if not can_fork():
        return 1
    return settings.workers or usable_cores()
