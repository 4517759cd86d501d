"""What ships: the built-in detectors and action sinks, by stable name, and how to build them.

The catalogue sits above the capabilities (it imports them, lazily, so a run never imports a detector it does not
use) and below whoever assembles a pipeline (``pipeline/build.py``, the API, the CLI's evaluations). Adding a
detector is its module plus one line here; nothing else changes: a detector takes what it needs of the run's
settings itself (:meth:`bastion.detector.Detector.from_settings`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bastion.actions.base import ActionSink
from bastion.detector import Detector
from bastion.errors import ConfigError
from bastion.settings import Settings

log = logging.getLogger(__name__)

DetectorClass = type[Detector]


def _lexicon() -> DetectorClass:
    from bastion.text.lexicon_detector import LexiconDetector

    return LexiconDetector


def _propaganda() -> DetectorClass:
    from bastion.text.propaganda import PropagandaDetector

    return PropagandaDetector


def _threat() -> DetectorClass:
    from bastion.threats.detector import ThreatDetector

    return ThreatDetector


def _media() -> DetectorClass:
    from bastion.media.detector import MediaMatchDetector

    return MediaMatchDetector


def _account_risk() -> DetectorClass:
    from bastion.accounts.detector import AccountRiskDetector

    return AccountRiskDetector


def _ban_evasion() -> DetectorClass:
    from bastion.accounts.ban_evasion import BanEvasionDetector

    return BanEvasionDetector


def _campaign() -> DetectorClass:
    from bastion.campaigns.detector import CampaignDetector

    return CampaignDetector


#: Detectors that ship, in the order ``--detectors all`` runs them: cheap text first, context-using detectors
#: after (a later detector reads the signals of earlier ones), and the pure ones (no state) ahead of the
#: stateful ones, so that ``bastion scan --workers`` can run all of them on other cores.
BUILTIN: dict[str, Callable[[], DetectorClass]] = {
    "lexicon": _lexicon,
    "propaganda": _propaganda,
    "threat": _threat,
    "media": _media,
    "account_risk": _account_risk,
    "ban_evasion": _ban_evasion,
    "campaign": _campaign,
}
DEFAULT_ORDER: tuple[str, ...] = tuple(BUILTIN)

_REGISTRY: dict[str, DetectorClass] = {}


def register(name: str, cls: DetectorClass) -> None:
    """Register a detector class (a plugin, a test double) under an explicit, stable name."""
    _REGISTRY[name] = cls


def resolve(name: str) -> DetectorClass:
    """The class registered or shipped under ``name``; :class:`ConfigError` when there is none or it cannot be
    imported in this installation."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    load = BUILTIN.get(name)
    if load is None:
        known = ", ".join(sorted({*BUILTIN, *_REGISTRY}))
        raise ConfigError(f"unknown detector {name!r}; known detectors: {known}")
    try:
        cls = load()
    except ImportError as exc:
        raise ConfigError(f"detector {name!r} is not available: {exc}") from exc
    _REGISTRY[name] = cls
    return cls


def available() -> list[str]:
    """Names of the detectors that can be built in this installation, in default order."""
    names = []
    for name in (*DEFAULT_ORDER, *sorted(set(_REGISTRY) - set(DEFAULT_ORDER))):
        try:
            resolve(name)
        except ConfigError:
            continue
        names.append(name)
    return names


def signal_owners() -> dict[str, str]:
    """Which detector emits each signal, for every detector this installation can build."""
    out: dict[str, str] = {}
    for name in available():
        for sig in resolve(name).signals:
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


def build(names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None,
          settings: Settings | None = None) -> list[Detector]:
    """Instantiate detectors by name, with per-detector keyword options and - for a run - the run's settings
    (without them, a detector gets its options alone: no database, no assets file it was not given)."""
    options = options or {}
    if settings is None:
        return [resolve(n)(**dict(options.get(n, {}))) for n in names]
    return [resolve(n).from_settings(settings, dict(options.get(n, {}))) for n in names]


# --- action sinks ------------------------------------------------------------------------------------------------
def _security(**kwargs: Any) -> ActionSink:
    from bastion.threats.sink import SecuritySink

    return SecuritySink(**kwargs)


#: Sinks that ship, by stable name; built with ``engine=`` and options.
BUILTIN_SINKS: dict[str, Callable[..., ActionSink]] = {
    "security": _security,
}


def build_sinks(names: Sequence[str], **kwargs: Any) -> list[ActionSink]:
    sinks = []
    for name in names:
        make = BUILTIN_SINKS.get(name)
        if make is None:
            raise ConfigError(f"unknown action sink {name!r}; known: {', '.join(BUILTIN_SINKS)}")
        try:
            sinks.append(make(**kwargs))
        except ImportError as exc:
            log.warning("action sink %s unavailable: %s", name, exc)
    return sinks
