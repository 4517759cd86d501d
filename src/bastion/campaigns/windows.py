"""Sliding-window counters keyed by hashtag (or by near-duplicate text cluster), with each key's own baseline.

Every post touches one window per hashtag, so this is the hot path of the campaign stage (the benchmark in
``bench/campaigns.py`` holds it to >= 100,000 posts/s on one core). Design, chosen for that:

* a key's window is a deque of fixed-width time buckets ``[bucket, posts, flagged]`` plus running totals, so
  an add is O(1) (increment the last bucket or append one) and eviction is amortised O(1);
* two channels per bucket: all posts, and *flagged* posts (those the stage judged extremist), because a
  hijacked popular hashtag bursts in the flagged channel without bursting in the total;
* each key's **baseline** is an exponentially weighted rate fed by buckets as they *leave* the window, so the
  burst being measured never inflates its own baseline. It is read as a Gamma-Poisson posterior mean with a
  weak prior, so a hashtag seen for the first time has a sane expected rate (see :meth:`Window.expected`).

Times are event-time seconds since the epoch (floats). State round-trips through JSON (:meth:`snapshot`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Shape of the windows: length, bucket width, baseline half-life and prior."""

    window_s: float = 3600.0
    bucket_s: float = 60.0
    baseline_tau_s: float = 7 * 86400.0
    prior_rate_per_h: float = 1.0 / 24.0
    prior_s: float = 6 * 3600.0

    @property
    def nbuckets(self) -> int:
        return max(1, round(self.window_s / self.bucket_s))


class Window:
    """One key's window: buckets, totals and the lagged baselines of both channels."""

    __slots__ = ("base_f", "base_n", "base_t", "buckets", "f", "first_t", "n")

    def __init__(self, first_t: float) -> None:
        self.buckets: deque[list[int]] = deque()
        self.n = 0
        self.f = 0
        self.base_n = 0.0  # decayed post mass that has left the window (posts), per channel
        self.base_f = 0.0
        self.base_t = first_t  # time the masses are decayed to
        self.first_t = first_t

    def _evict(self, lo: int, bucket_s: float, tau: float) -> None:
        """Drop buckets with index <= lo, feeding them into the baselines."""
        dq = self.buckets
        while dq and dq[0][0] <= lo:
            b, c, fl = dq.popleft()
            self.n -= c
            self.f -= fl
            t_end = (b + 1) * bucket_s
            if t_end > self.base_t:
                decay = math.exp(-(t_end - self.base_t) / tau)
                self.base_n *= decay
                self.base_f *= decay
                self.base_t = t_end
            self.base_n += c
            self.base_f += fl

    def recent(self, since_bucket: int) -> tuple[int, int]:
        """(posts, flagged) in buckets with index >= ``since_bucket`` (a sub-window at the right end)."""
        n = f = 0
        for b, c, fl in reversed(self.buckets):
            if b < since_bucket:
                break
            n += c
            f += fl
        return n, f

    def expected(self, at: float, spec: WindowSpec, flagged: bool = False) -> float:
        """Expected count in one window at ``at`` from this key's own history (posterior mean rate x window).

        Mass M (decayed posts seen before the window) over effective span S, with a prior of
        ``prior_rate_per_h`` for ``prior_s`` seconds: rate = (M + r0*s0) / (S + s0).
        """
        tau = spec.baseline_tau_s
        start = at - spec.window_s
        mass = self.base_f if flagged else self.base_n
        if start > self.base_t:
            mass *= math.exp(-(start - self.base_t) / tau)
        span = max(0.0, start - self.first_t)
        eff = tau * (1.0 - math.exp(-span / tau))
        r0 = spec.prior_rate_per_h / 3600.0
        return (mass + r0 * spec.prior_s) / (eff + spec.prior_s) * spec.window_s

    def to_json(self) -> list[Any]:
        return [[list(b) for b in self.buckets], self.n, self.f, self.base_n, self.base_f, self.base_t,
                self.first_t]

    @classmethod
    def from_json(cls, data: list[Any]) -> Window:
        buckets, n, f, base_n, base_f, base_t, first_t = data
        w = cls(float(first_t))
        w.buckets = deque([int(b), int(c), int(fl)] for b, c, fl in buckets)
        w.n, w.f = int(n), int(f)
        w.base_n, w.base_f, w.base_t = float(base_n), float(base_f), float(base_t)
        return w


class KeyedWindows:
    """Sliding-window counters for many keys (hashtags, text clusters)."""

    __slots__ = ("_bucket_s", "_keys", "_nb", "_tau", "late", "spec")

    def __init__(self, spec: WindowSpec | None = None) -> None:
        self.spec = spec or WindowSpec()
        self._bucket_s = self.spec.bucket_s
        self._nb = self.spec.nbuckets
        self._tau = self.spec.baseline_tau_s
        self._keys: dict[str, Window] = {}
        self.late = 0  # events older than the window when they arrived (counted into the baseline only)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def get(self, key: str) -> Window | None:
        return self._keys.get(key)

    def add(self, key: str, ts: float, flagged: bool = False) -> Window:
        """Count one event for ``key`` at event time ``ts``; returns the key's window (already updated)."""
        b = int(ts // self._bucket_s)
        w = self._keys.get(key)
        if w is None:
            w = self._keys[key] = Window(ts)
        dq = w.buckets
        fl = 1 if flagged else 0
        if dq:
            last = dq[-1]
            if last[0] == b:
                last[1] += 1
                last[2] += fl
            elif last[0] < b:
                dq.append([b, 1, fl])
                if dq[0][0] <= b - self._nb:
                    w._evict(b - self._nb, self._bucket_s, self._tau)
            else:
                return self._add_late(w, b, fl)
        else:
            dq.append([b, 1, fl])
        w.n += 1
        w.f += fl
        return w

    def _add_late(self, w: Window, b: int, fl: int) -> Window:
        """An out-of-order event: into its bucket if still in the window, else into the baseline."""
        head = w.buckets[-1][0]
        if b <= head - self._nb:
            self.late += 1
            w.base_n += 1
            w.base_f += fl
            return w
        for i in range(len(w.buckets) - 1, -1, -1):
            bucket = w.buckets[i]
            if bucket[0] == b:
                bucket[1] += 1
                bucket[2] += fl
                break
            if bucket[0] < b:
                w.buckets.insert(i + 1, [b, 1, fl])
                break
        else:
            w.buckets.appendleft([b, 1, fl])
        w.n += 1
        w.f += fl
        return w

    def advance(self, key: str, ts: float) -> Window | None:
        """Bring ``key``'s window up to ``ts`` (evict what has left it) without counting anything."""
        w = self._keys.get(key)
        if w is not None:
            lo = int(ts // self._bucket_s) - self._nb
            if w.buckets and w.buckets[0][0] <= lo:
                w._evict(lo, self._bucket_s, self._tau)
        return w

    def count(self, key: str, ts: float) -> tuple[int, int]:
        """(posts, flagged) for ``key`` in the window ending at ``ts``."""
        w = self.advance(key, ts)
        return (w.n, w.f) if w is not None else (0, 0)

    def items(self) -> Iterator[tuple[str, Window]]:
        return iter(self._keys.items())

    def prune(self, ts: float, min_mass: float = 0.5) -> int:
        """Forget keys with an empty window and a baseline under ``min_mass`` posts (their baseline reverts to
        the prior, which is nearly the same). Keeps memory and snapshots bounded on an endless stream."""
        drop = []
        for key, w in self._keys.items():
            self.advance(key, ts)
            if w.buckets:
                continue
            decay = math.exp(-max(0.0, ts - w.base_t) / self._tau)
            if w.base_n * decay < min_mass:
                drop.append(key)
        for key in drop:
            del self._keys[key]
        return len(drop)

    def snapshot(self) -> dict[str, Any]:
        return {"late": self.late, "keys": {k: w.to_json() for k, w in self._keys.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        self.late = int(data.get("late", 0))
        self._keys = {str(k): Window.from_json(v) for k, v in data.get("keys", {}).items()}
