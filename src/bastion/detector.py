"""The detector interface.

A detector is a configured instance with a stable, explicit ``name``. It takes a batch of items and returns,
for each item, the signals it found. Three kinds of input reach detectors, each through its own method with
a harmless default, so a detector implements only what it looks at:

* :meth:`Detector.detect` - posts (with their author, when known, and the signals earlier detectors gave);
* :meth:`Detector.detect_accounts` - accounts, at registration or profile change, before any post;
* :meth:`Detector.observe` - edges, reports and enforcement events that feed stateful detectors.

Stateful detectors also implement :meth:`Detector.snapshot` / :meth:`Detector.restore` (the pipeline keeps
the snapshot in the store between runs) and may report account-level signals through
:meth:`Detector.account_signals`.

Detectors run in order; a later detector sees the signals of earlier ones (``PostContext.signals``), so
expensive detectors can cascade on cheap ones. This module is the bottom of the detection layer: the
capabilities (text, media, threats, accounts, campaigns) implement it, and :mod:`bastion.catalogue` names the
ones that ship.
"""

from __future__ import annotations

import logging
import pickle
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast

from bastion.records import Account, Edge, EnforcementEvent, Post, Report
from bastion.settings import Settings
from bastion.signals import Signal

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(slots=True)
class PostContext:
    """A post on its way through the detectors: the post, its author, and the signals found so far.

    ``replay`` is true when the post was already stored by an earlier run and is being scored again (a
    rescan): stateful detectors should score it without counting it a second time.

    :meth:`view` shares work on the text between detectors: the folded text, the text with its offsets, the
    normalised text are each computed once per post, by whichever detector asks first.
    """

    post: Post
    author: Account | None = None
    signals: dict[str, Signal] = field(default_factory=dict)
    replay: bool = False
    views: dict[Callable[[str], Any], Any] = field(default_factory=dict, repr=False)

    def score(self, name: str, default: float = 0.0) -> float:
        sig = self.signals.get(name)
        return sig.value if sig is not None and sig.ok else default

    def view(self, derive: Callable[[str], T]) -> T:
        """``derive(post.text)``, computed once for this post and shared by every detector that asks for the
        same function (e.g. :func:`bastion.text.normalize.fold_with_offsets`)."""
        try:
            return cast(T, self.views[derive])
        except KeyError:
            value = self.views[derive] = derive(self.post.text)
            return value


class BatchedView(Generic[T]):
    """A function of a post's text (a :meth:`PostContext.view`) that also has a batch form: ``view(text)`` for one
    text, ``view.many(texts)`` for many at once, with the same values. :func:`share_view` uses the batch form.

    Bind it to a module-level name: it pickles as that name (as a function does), so the views a detection
    worker sends back are keyed by the very object the main process looks them up with."""

    def __init__(self, one: Callable[[str], T], many: Callable[[Sequence[str]], list[T]]) -> None:
        self.one = one
        self.many = many
        self.__module__ = one.__module__
        self.__name__ = one.__name__.lstrip("_")

    def __call__(self, text: str) -> T:
        return self.one(text)

    def __reduce__(self) -> str:
        for name, value in vars(sys.modules[self.__module__]).items():
            if value is self:
                return name
        raise pickle.PicklingError(f"{self.__name__} is not a name in {self.__module__}")

    def __repr__(self) -> str:
        return f"<batched view {self.__module__}.{self.__name__}>"


def share_view(contexts: Sequence[PostContext], derive: Callable[[str], Any]) -> None:
    """Compute ``derive`` for every post of the batch that lacks it: one call for the whole batch when it is a
    :class:`BatchedView`, else post by post."""
    todo = [c for c in contexts if derive not in c.views]
    if not todo:
        return
    if not isinstance(derive, BatchedView):
        for c in todo:
            c.views[derive] = derive(c.post.text)
        return
    for c, value in zip(todo, derive.many([c.post.text for c in todo]), strict=True):
        c.views[derive] = value


class Detector(ABC):
    """Base class of every detector. Subclasses set ``name`` and ``signals`` and override what they need."""

    name: ClassVar[str]
    signals: ClassVar[tuple[str, ...]]
    version: str = "0"
    #: True when the detector's signals are a function of the post, its author and the signals of the detectors
    #: before it - no state kept between posts, ``replay`` ignored. The leading pure detectors of a pipeline
    #: may then score a batch ahead of time in another process (``bastion scan --workers``).
    pure: ClassVar[bool] = False
    #: The functions of a post's text this detector reads through :meth:`PostContext.view`. A scan with workers
    #: computes them ahead, beside the pure detectors, so a stateful detector finds them ready.
    views: ClassVar[tuple[Callable[[str], Any], ...]] = ()

    @abstractmethod
    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        """Return, for each post of ``batch`` in order, the signals found (possibly none)."""

    def detect_accounts(self, accounts: Sequence[Account]) -> Sequence[Sequence[Signal]]:
        """Signals about accounts themselves (e.g. ban evasion at registration). Default: none."""
        return [() for _ in accounts]

    def observe(self, records: Iterable[Edge | Report | EnforcementEvent]) -> None:  # noqa: B027
        """Feed non-content records to stateful detectors. Default: ignore them."""

    def account_signals(self) -> Mapping[str, Sequence[Signal]]:
        """Signals about accounts whose state changed since the last call (e.g. a risk score that crossed a
        threshold after their latest posts), keyed by account id; the pipeline decides on them with the
        policy's account rules. Called once per batch. Default: none."""
        return {}

    def snapshot(self) -> bytes | None:
        """Serialise the detector's state (keyed state, windows, fingerprints) so a later run, or another
        worker, can :meth:`restore` it. Not pickle: JSON or another documented format. Default: stateless."""
        return None

    def restore(self, data: bytes) -> None:  # noqa: B027
        """Load state written by :meth:`snapshot`. Default: nothing to restore."""

    def get_params(self) -> Mapping[str, Any]:
        """Constructor parameters, so a detector can be rebuilt on a worker."""
        return {}

    @classmethod
    def from_settings(cls, settings: Settings, options: Mapping[str, Any]) -> Detector:
        """Build from the run's settings and this detector's options. A detector that needs something of the
        run (its database, the policy's live rules, the protected-assets file) takes it here, so that whoever
        builds a pipeline needs to know nothing about any one detector."""
        return cls(**options)


#: Builds detectors by name (:func:`bastion.catalogue.build`): what an evaluation is handed when it needs the
#: shipped detectors, so that no capability imports the catalogue above it.
DetectorBuilder = Callable[[Sequence[str]], list[Detector]]


def run_detectors(detectors: Sequence[Detector], contexts: list[PostContext],
                  timings: dict[str, float] | None = None) -> None:
    """Run each detector over the batch; isolate failures to the posts that cause them."""
    for det in detectors:
        t0 = time.perf_counter()
        try:
            results = det.detect(contexts)
            if len(results) != len(contexts):
                raise ValueError(f"returned {len(results)} results for {len(contexts)} posts")
        except Exception as exc:
            log.warning("detector %s failed on a batch (%s); retrying post by post", det.name, exc)
            results = []
            for ctx in contexts:
                try:
                    results.append(list(det.detect([ctx])[0]))
                except Exception as one:
                    results.append([Signal.missing(name, det.name, det.version, f"{type(one).__name__}: {one}")
                                    for name in det.signals])
        for ctx, sigs in zip(contexts, results, strict=True):
            for sig in sigs:
                ctx.signals[sig.name] = sig
        if timings is not None:
            key = f"detect:{det.name}"
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0
