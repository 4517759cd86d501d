"""Injectable clocks for the campaign stage.

Windows run on *event time*: a post's own ``created_at`` moves the window, never the wall clock, so a replay
of last year's data behaves exactly as the live stream did. The clock is only asked for the time when
something has none (a post without a timestamp, a trend-filter call "now"). Three clocks cover the cases:

* :class:`EventClock` (default): the watermark, i.e. the latest event time seen; falls back to the wall
  clock before any event has been seen;
* :class:`ManualClock`: set by hand, for tests and for the CLI's ``--at``;
* :class:`SystemClock`: the wall clock, for a live service with posts that lack timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    def advance(self, at: datetime) -> None:
        """Tell the clock an event happened at ``at`` (event-time clocks move; others ignore it)."""
        ...


def epoch(dt: datetime) -> float:
    """Seconds since the epoch of an aware datetime (naive ones are taken as UTC, as ingest does)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, at: datetime) -> None:
        return None


class ManualClock:
    def __init__(self, at: datetime) -> None:
        self._at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)

    def advance(self, at: datetime) -> None:
        return None


class EventClock:
    """The watermark: the latest event time seen (never moves backwards)."""

    def __init__(self) -> None:
        self._at: datetime | None = None

    def now(self) -> datetime:
        return self._at if self._at is not None else datetime.now(UTC)

    def advance(self, at: datetime) -> None:
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if self._at is None or at > self._at:
            self._at = at
