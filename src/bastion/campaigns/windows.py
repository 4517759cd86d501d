"""Sliding-window counters keyed by hashtag (or by near-duplicate text cluster), with each key's own baseline.

Every post touches one window per hashtag, so this is the hot path of the campaign stage (the benchmark in
``bench/campaigns.py`` holds it to >= 100,000 posts/s on one core). Design, chosen for that:

* a key's whole state is **one flat list** (a :data:`WindowState`): totals and baselines in the first
  :data:`HEAD` slots, then fixed-width time buckets ``bucket, posts, flagged`` oldest first. An add is O(1)
  (increment the last bucket or append one) and eviction is amortised O(1). One list per key, not an object
  holding a deque of small lists, because most hashtags live in the long tail with a bucket or two, and
  per-key objects are what a long tail pays for (allocations, cache misses, garbage-collector scans); a
  plain list also keeps CPython's specialised integer indexing;
* two channels per bucket: all posts, and *flagged* posts (those the stage judged extremist), because a
  hijacked popular hashtag bursts in the flagged channel without bursting in the total;
* each key's **baseline** is an exponentially weighted rate fed by buckets as they *leave* the window, so the
  burst being measured never inflates its own baseline. It is read as a Gamma-Poisson posterior mean with a
  weak prior, so a hashtag seen for the first time has a sane expected rate (see :func:`expected`).

Times are event-time seconds since the epoch (floats). State round-trips through JSON (:meth:`snapshot`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bastion.errors import ConfigError

#: Slots of a :data:`WindowState`: posts and flagged posts in the window, the decayed masses that have left
#: it (per channel), the time those masses are decayed to, the key's first event time; buckets follow.
N, F, BASE_N, BASE_F, BASE_T, FIRST_T = range(6)
HEAD = 6

WindowState = list[Any]


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


def new_state(ts: float, b: int, fl: int) -> WindowState:
    return [1, fl, 0.0, 0.0, ts, ts, b, 1, fl]


def evict(w: WindowState, lo: int, bucket_s: float, tau: float) -> None:
    """Drop buckets with index <= lo, feeding them into the baselines. The evicted buckets are decayed
    together to the end of the newest of them (they span at most one window, so against a baseline half-life
    of days the error is a fraction of a percent): one ``exp`` per eviction, not one per bucket."""
    cut = HEAD
    size = len(w)
    c = fl = 0
    while cut < size and w[cut] <= lo:
        c += w[cut + 1]
        fl += w[cut + 2]
        cut += 3
    if cut == HEAD:
        return
    t_end = (w[cut - 3] + 1) * bucket_s
    del w[HEAD:cut]
    w[N] -= c
    w[F] -= fl
    if t_end > w[BASE_T]:
        decay = math.exp(-(t_end - w[BASE_T]) / tau)
        w[BASE_N] *= decay
        w[BASE_F] *= decay
        w[BASE_T] = t_end
    w[BASE_N] += c
    w[BASE_F] += fl


def expected(w: WindowState, at: float, spec: WindowSpec, flagged: bool = False) -> float:
    """Expected count in one window at ``at`` from this key's own history (posterior mean rate x window).

    Mass M (decayed posts seen before the window) over effective span S, with a prior of ``prior_rate_per_h``
    for ``prior_s`` seconds: rate = (M + r0*s0) / (S + s0).
    """
    tau = spec.baseline_tau_s
    start = at - spec.window_s
    mass = w[BASE_F] if flagged else w[BASE_N]
    if start > w[BASE_T]:
        mass *= math.exp(-(start - w[BASE_T]) / tau)
    span = max(0.0, start - w[FIRST_T])
    eff = tau * (1.0 - math.exp(-span / tau))
    r0 = spec.prior_rate_per_h / 3600.0
    return float((mass + r0 * spec.prior_s) / (eff + spec.prior_s) * spec.window_s)


def recent(w: WindowState, since_bucket: int) -> tuple[int, int]:
    """(posts, flagged) in buckets with index >= ``since_bucket`` (a sub-window at the right end)."""
    n = f = 0
    for i in range(len(w) - 3, HEAD - 1, -3):
        if w[i] < since_bucket:
            break
        n += w[i + 1]
        f += w[i + 2]
    return n, f


class KeyedWindows:
    """Sliding-window counters for many keys (hashtags, text clusters)."""

    __slots__ = ("_bucket_s", "_keys", "_nb", "_tau", "late", "spec")

    def __init__(self, spec: WindowSpec | None = None) -> None:
        self.spec = spec or WindowSpec()
        self._bucket_s = self.spec.bucket_s
        self._nb = self.spec.nbuckets
        self._tau = self.spec.baseline_tau_s
        self._keys: dict[str, WindowState] = {}
        self.late = 0  # events older than the window when they arrived (counted into the baseline only)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def get(self, key: str) -> WindowState | None:
        return self._keys.get(key)

    def add(self, key: str, ts: float, flagged: bool = False) -> WindowState:
        """Count one event for ``key`` at event time ``ts``; returns the key's state (already updated)."""
        b = int(ts // self._bucket_s)
        fl = 1 if flagged else 0
        w = self._keys.get(key)
        if w is None:
            w = self._keys[key] = new_state(ts, b, fl)
            return w
        last = w[-3] if len(w) > HEAD else -1
        if last == b:
            w[-2] += 1
            if fl:
                w[-1] += 1
        elif last < b:
            w += (b, 1, fl)
            if w[HEAD] <= b - self._nb:
                evict(w, b - self._nb, self._bucket_s, self._tau)
        else:
            return self._add_late(w, b, fl)
        w[N] += 1
        w[F] += fl
        return w

    def add_post(self, keys: Sequence[str], ts: float, flagged: bool = False) -> list[WindowState]:
        """:meth:`add` for each of a post's keys (one bucket computation, one call): the stage's hot path."""
        b = int(ts // self._bucket_s)
        fl = 1 if flagged else 0
        table = self._keys
        nb = self._nb
        out = []
        for key in keys:
            w = table.get(key)
            if w is None:
                w = table[key] = new_state(ts, b, fl)
            else:
                last = w[-3] if len(w) > HEAD else -1
                if last == b:
                    w[-2] += 1
                    if fl:
                        w[-1] += 1
                elif last < b:
                    w += (b, 1, fl)
                    if w[HEAD] <= b - nb:
                        evict(w, b - nb, self._bucket_s, self._tau)
                else:
                    out.append(self._add_late(w, b, fl))
                    continue
                w[N] += 1
                w[F] += fl
            out.append(w)
        return out

    def _add_late(self, w: WindowState, b: int, fl: int) -> WindowState:
        """An out-of-order event: into its bucket if still in the window, else into the baseline."""
        if len(w) == HEAD or b <= w[-3] - self._nb:
            self.late += 1
            w[BASE_N] += 1
            w[BASE_F] += fl
            return w
        for i in range(len(w) - 3, HEAD - 1, -3):
            if w[i] == b:
                w[i + 1] += 1
                w[i + 2] += fl
                break
            if w[i] < b:
                w[i + 3:i + 3] = [b, 1, fl]
                break
        else:
            w[HEAD:HEAD] = [b, 1, fl]
        w[N] += 1
        w[F] += fl
        return w

    def advance(self, key: str, ts: float) -> WindowState | None:
        """Bring ``key``'s window up to ``ts`` (evict what has left it) without counting anything."""
        w = self._keys.get(key)
        if w is not None:
            lo = int(ts // self._bucket_s) - self._nb
            if len(w) > HEAD and w[HEAD] <= lo:
                evict(w, lo, self._bucket_s, self._tau)
        return w

    def count(self, key: str, ts: float) -> tuple[int, int]:
        """(posts, flagged) for ``key`` in the window ending at ``ts``."""
        w = self.advance(key, ts)
        return (w[N], w[F]) if w is not None else (0, 0)

    def expected(self, key: str, at: float, flagged: bool = False) -> float:
        """The key's expected count in one window at ``at`` (the prior for a key never seen)."""
        w = self.advance(key, at)
        if w is None:
            return self.spec.prior_rate_per_h * self.spec.window_s / 3600.0
        return expected(w, at, self.spec, flagged)

    def items(self) -> Iterator[tuple[str, WindowState]]:
        return iter(self._keys.items())

    def prune(self, ts: float, min_mass: float = 0.5) -> int:
        """Forget keys with an empty window and a baseline under ``min_mass`` posts (their baseline reverts to
        the prior, which is nearly the same). Keeps memory and snapshots bounded on an endless stream."""
        drop = []
        for key, w in self._keys.items():
            self.advance(key, ts)
            if len(w) > HEAD:
                continue
            decay = math.exp(-max(0.0, ts - w[BASE_T]) / self._tau)
            if w[BASE_N] * decay < min_mass:
                drop.append(key)
        for key in drop:
            del self._keys[key]
        return len(drop)

    def snapshot(self) -> dict[str, Any]:
        return {"late": self.late, "keys": {k: list(w) for k, w in self._keys.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        keys: dict[str, WindowState] = {}
        for k, raw in data.get("keys", {}).items():
            if not isinstance(raw, list) or len(raw) < HEAD or (len(raw) - HEAD) % 3:
                raise ConfigError(f"window state of {k!r} is not [head..., (bucket, posts, flagged)...]")
            keys[str(k)] = [int(raw[N]), int(raw[F]), float(raw[BASE_N]), float(raw[BASE_F]),
                            float(raw[BASE_T]), float(raw[FIRST_T]), *(int(x) for x in raw[HEAD:])]
        self.late = int(data.get("late", 0))
        self._keys = keys
