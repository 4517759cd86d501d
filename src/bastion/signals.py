"""Signals: what detectors say about a post or an account.

A :class:`Signal` is a named score in [0, 1] with the evidence behind it (matched spans, labels, details).
A detector that cannot judge an item emits :meth:`Signal.unavailable` with the reason instead of raising, so
one failing detector degrades one signal, never the whole decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bastion.records import empty


@dataclass(frozen=True, slots=True)
class Span:
    """A matched stretch of the text a signal keys on (character offsets into the original text)."""

    start: int
    end: int
    label: str
    text: str = ""

    def __reduce__(self) -> tuple[type[Span], tuple[int, int, str, str]]:
        return Span, (self.start, self.end, self.label, self.text)  # a plain constructor call: faster to unpickle


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    value: float
    detector: str
    version: str
    labels: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()
    details: Mapping[str, Any] = field(default_factory=empty)
    unavailable: str | None = None

    def __reduce__(self) -> tuple[type[Signal], tuple[Any, ...]]:
        # signals cross from detection workers by the thousand: a constructor call unpickles several times
        # faster than the slots state dataclasses pickle by default
        return Signal, (self.name, self.value, self.detector, self.version, self.labels, self.spans, self.details,
                        self.unavailable)

    @classmethod
    def missing(cls, name: str, detector: str, version: str, reason: str) -> Signal:
        """A signal the detector could not compute, with the reason (recorded, never silently dropped)."""
        return cls(name=name, value=0.0, detector=detector, version=version, unavailable=reason)

    @property
    def ok(self) -> bool:
        return self.unavailable is None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Signal:
        """The signal :meth:`to_json` wrote (its value rounded to six places)."""
        return cls(name=str(obj["name"]), value=float(obj["value"]), detector=str(obj["detector"]),
                   version=str(obj["version"]), labels=tuple(obj.get("labels", ())),
                   spans=tuple(Span(int(s["start"]), int(s["end"]), str(s["label"]), str(s.get("text", "")))
                               for s in obj.get("spans", ())),
                   details=dict(obj.get("details", {})), unavailable=obj.get("unavailable"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": round(self.value, 6), "detector": self.detector,
                               "version": self.version}
        if self.labels:
            out["labels"] = list(self.labels)
        if self.spans:
            out["spans"] = [{"start": s.start, "end": s.end, "label": s.label, "text": s.text}
                            for s in self.spans]
        if self.details:
            out["details"] = dict(self.details)
        if self.unavailable is not None:
            out["unavailable"] = self.unavailable
        return out
