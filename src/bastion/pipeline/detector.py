"""The detector interface and its registry.

A detector is a configured instance with a stable, explicit ``name``. It takes a batch of items and returns,
for each item, the signals it found. Three kinds of input reach detectors, each through its own method with
a harmless default, so a detector implements only what it looks at:

* :meth:`Detector.detect` - posts (with their author, when known, and the signals earlier detectors gave);
* :meth:`Detector.detect_accounts` - accounts, at registration or profile change, before any post;
* :meth:`Detector.observe` - edges, reports and enforcement events that feed stateful detectors.

Stateful detectors also implement :meth:`Detector.snapshot` / :meth:`Detector.restore` (the pipeline keeps
the snapshot in the store between runs) and may report account-level signals through
:meth:`Detector.account_signals`.

Detectors run in registry order; a later detector sees the signals of earlier ones (``PostContext.signals``),
so expensive detectors can cascade on cheap ones. A detector registers itself by name with
:func:`register`, and :func:`build` instantiates the names a run asks for - adding a detector is one module,
nothing in the core changes.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast

from bastion.errors import ConfigError
from bastion.records import Account, Edge, EnforcementEvent, Post, Report
from bastion.signals import Signal

T = TypeVar("T")


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


class Detector(ABC):
    """Base class of every detector. Subclasses set ``name`` and ``signals`` and override what they need."""

    name: ClassVar[str]
    signals: ClassVar[tuple[str, ...]]
    version: str = "0"

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


DetectorFactory = Callable[..., Detector]

_REGISTRY: dict[str, DetectorFactory] = {}

#: Detectors that ship with Bastion, imported on first use so that a run without them never imports their
#: (sometimes heavy) dependencies. Maps the stable name to "module:attribute".
BUILTIN: dict[str, str] = {
    "lexicon": "bastion.text.lexicon_detector:LexiconDetector",
    "propaganda": "bastion.text.propaganda:PropagandaDetector",
    "threat": "bastion.threats.detector:ThreatDetector",
    "media": "bastion.media.detector:MediaMatchDetector",
    "account_risk": "bastion.accounts.detector:AccountRiskDetector",
    "ban_evasion": "bastion.accounts.ban_evasion:BanEvasionDetector",
    "campaign": "bastion.campaigns.detector:CampaignDetector",
}

#: Order in which ``--detectors all`` runs them: cheap text first, context-using detectors after.
DEFAULT_ORDER: tuple[str, ...] = (
    "lexicon", "propaganda", "media", "threat", "account_risk", "ban_evasion", "campaign",
)


def register(name: str, factory: DetectorFactory) -> None:
    """Register a detector factory under an explicit, stable name."""
    _REGISTRY[name] = factory


def _resolve(name: str) -> DetectorFactory:
    if name in _REGISTRY:
        return _REGISTRY[name]
    target = BUILTIN.get(name)
    if target is None:
        known = ", ".join(sorted({*BUILTIN, *_REGISTRY}))
        raise ConfigError(f"unknown detector {name!r}; known detectors: {known}")
    module, attr = target.split(":")
    try:
        factory: DetectorFactory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"detector {name!r} is not available: {exc}") from exc
    _REGISTRY[name] = factory
    return factory


def available() -> list[str]:
    """Names of the detectors that can be built in this installation, in default order."""
    names = []
    for name in (*DEFAULT_ORDER, *sorted(set(_REGISTRY) - set(DEFAULT_ORDER))):
        try:
            _resolve(name)
        except ConfigError:
            continue
        names.append(name)
    return names


def signal_owners() -> dict[str, str]:
    """Which detector emits each signal, for every detector this installation can build."""
    out: dict[str, str] = {}
    for name in available():
        factory = _resolve(name)
        for sig in getattr(factory, "signals", ()):
            out.setdefault(sig, name)
    return out


def parse_names(spec: str) -> list[str]:
    """``all`` (every available detector), ``none``, or a comma-separated list of names."""
    spec = spec.strip()
    if spec in ("", "none"):
        return []
    if spec == "all":
        return available()
    return [n.strip() for n in spec.split(",") if n.strip()]


def build(names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Detector]:
    """Instantiate detectors by name, with per-detector keyword options."""
    options = options or {}
    return [_resolve(n)(**dict(options.get(n, {}))) for n in names]
