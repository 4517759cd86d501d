"""Flood quarantine: pause a bank entry that suddenly matches many distinct items.

A bad hash (a near-blank frame, a logo, a meme template somebody banked by mistake) does not match one
item, it matches thousands, and an automated removal pipeline would take them all down in minutes. GIFCT
and HMA operators watch for this by hand; here each entry keeps the distinct items (by content, so a
thousand reposts of the same file count once) it matched within a sliding window, and when that count
exceeds the bank's ``flood_limit`` the entry is quarantined: its matches stop counting as evidence and a
:class:`FloodEvent` asks a person to review it.

State is small (at most ``limit + 1`` keys per entry) and round-trips through JSON for detector
snapshots.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FloodEvent:
    entry_id: int
    bank: str
    distinct_items: int
    window_s: float
    at: float

    def to_json(self) -> dict[str, Any]:
        return {"entry": self.entry_id, "bank": self.bank, "distinct_items": self.distinct_items,
                "window_s": self.window_s, "at": self.at}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FloodEvent:
        return cls(int(d["entry"]), str(d["bank"]), int(d["distinct_items"]), float(d["window_s"]), float(d["at"]))


class FloodGuard:
    """Counts distinct matched items per entry in a sliding time window (timestamps in epoch seconds)."""

    def __init__(self) -> None:
        self._seen: dict[int, dict[str, float]] = {}

    def observe(self, entry_id: int, bank: str, item_key: str, at: float, *, limit: int,
                window_s: float) -> FloodEvent | None:
        """Record that ``entry_id`` matched ``item_key`` at ``at``; a :class:`FloodEvent` when the entry
        now matched more than ``limit`` distinct items within ``window_s``."""
        if limit <= 0:
            return None
        seen = self._seen.setdefault(entry_id, {})
        seen[item_key] = max(at, seen.get(item_key, at))
        if len(seen) > limit:
            horizon = at - window_s
            for key in [k for k, t in seen.items() if t < horizon]:
                del seen[key]
        if len(seen) > limit:
            distinct = len(seen)
            del self._seen[entry_id]
            log.warning("flood quarantine: bank entry %d (%s) matched %d distinct items within %.0f s",
                        entry_id, bank, distinct, window_s)
            return FloodEvent(entry_id, bank, distinct, window_s, at)
        return None

    def forget(self, entry_id: int) -> None:
        self._seen.pop(entry_id, None)

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "seen": {str(k): v for k, v in self._seen.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FloodGuard:
        g = cls()
        if data.get("v") != 1:
            raise ValueError("unknown flood-guard state version")
        g._seen = {int(k): {str(i): float(t) for i, t in v.items()} for k, v in data.get("seen", {}).items()}
        return g
