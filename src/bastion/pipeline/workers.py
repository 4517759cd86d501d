"""Detection on every core: the leading pure detectors of a pipeline score batches in worker processes.

A detector is pure (:attr:`bastion.detector.Detector.pure`) when its signals are a function of the post, its
author and the signals of the detectors before it. The leading run of pure detectors in a pipeline's order
can therefore score a batch anywhere and ahead of time; everything else - the stateful detectors (account
risk, campaigns, the media flood guard), decide, act and persist - stays in the main process, in input
order. The stored decisions, the audit chain and the ``--out`` file are the same for any number of workers.

Workers are forked from the main process once its detectors are built, so they share the loaded models'
memory and start in milliseconds; they ignore Ctrl-C, which the main process handles (it stops taking
results, and the batch it was on is not written). Where ``fork`` is unavailable, scans run in one process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bastion.detector import Detector, PostContext, run_detectors, share_view
from bastion.errors import DependencyError
from bastion.records import Account, Post
from bastion.signals import Signal

log = logging.getLogger(__name__)

#: Posts per task: small enough to spread a batch over the workers, large enough to amortise a hand-off.
MIN_CHUNK = 64

View = Callable[[str], Any]
#: Per post: the pure detectors' signals and the precomputed views; and the seconds each detector took.
Scored = tuple[list[dict[str, Signal]], list[dict[View, Any]], dict[str, float]]

_DETECTORS: Sequence[Detector] = ()
_VIEWS: Sequence[View] = ()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def leading_pure(detectors: Sequence[Detector]) -> int:
    """How many detectors, from the first, are pure (and so may run ahead in workers)."""
    n = 0
    for det in detectors:
        if not det.pure:
            break
        n += 1
    return n


def _init(detectors: Sequence[Detector], views: Sequence[View]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides what an interrupt means
    global _DETECTORS, _VIEWS
    _DETECTORS, _VIEWS = detectors, views


def score(posts: Sequence[tuple[Post, Account | None]]) -> Scored:
    """In a worker: for each post (in order), the pool's detectors' signals and the views wanted later; and the
    seconds each detector took."""
    return score_with(_DETECTORS, _VIEWS, posts)


def score_with(detectors: Sequence[Detector], views: Sequence[View],
               posts: Sequence[tuple[Post, Account | None]]) -> Scored:
    """What a worker sends back for ``posts``, with these detectors and views."""
    contexts = [PostContext(post, author) for post, author in posts]
    timings: dict[str, float] = {}
    run_detectors(detectors, contexts, timings)
    for f in views:
        share_view(contexts, f)
    seen = [{f: c.views[f] for f in views} for c in contexts]
    return [c.signals for c in contexts], seen, timings


class Ahead:
    """The pure detectors' signals for one batch's posts, being computed on the pool."""

    def __init__(self, futures: list[Future[Scored]]) -> None:
        self._futures = futures

    def result(self) -> Scored:
        signals: list[dict[str, Signal]] = []
        views: list[dict[View, Any]] = []
        timings: dict[str, float] = {}
        try:
            for fut in self._futures:
                part, seen, spent = fut.result()
                signals.extend(part)
                views.extend(seen)
                for k, v in spent.items():
                    timings[k] = timings.get(k, 0.0) + v
        except BrokenProcessPool as exc:
            raise _died(exc) from None
        return signals, views, timings


def _died(exc: BrokenProcessPool) -> DependencyError:
    return DependencyError(f"a detection worker died ({exc}); the batches before this one are stored, "
                           "and scanning the same input again carries on without duplicates")


class DetectorPool:
    """``workers`` forked processes that run ``detectors`` (pure ones) on chunks of posts, and compute the
    ``views`` of each post's text that the detectors left to the main process will read."""

    def __init__(self, detectors: Sequence[Detector], workers: int, views: Sequence[View] = ()) -> None:
        if not can_fork():
            raise DependencyError("detection workers need the 'fork' start method; use --workers 1")
        self.detectors = list(detectors)
        self.workers = workers
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_init, initargs=(self.detectors, tuple(views)))

    def submit(self, posts: Sequence[tuple[Post, Account | None]]) -> Ahead:
        size = max(MIN_CHUNK, -(-len(posts) // self.workers))
        chunks = [list(posts[i:i + size]) for i in range(0, len(posts), size)]
        try:
            return Ahead([self._executor.submit(score, chunk) for chunk in chunks])
        except BrokenProcessPool as exc:  # a worker died before this batch was handed out
            raise _died(exc) from None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
