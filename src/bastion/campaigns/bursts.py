"""Burst detection against each hashtag's own baseline.

A hashtag bursts when its count in the current window is improbable under its own history: the window
count ``n`` is compared with the expected count ``lam`` (the lagged, exponentially weighted baseline of
:mod:`bastion.campaigns.windows`) by a one-sided Poisson test, ``P(X >= n | lam) < alpha``, and ``n`` must
reach a floor so that three posts on an obscure hashtag are not a "burst" unless they are also flagged
(the floor is per channel). A Poisson test rather than a fixed ratio because it is strict on busy hashtags
(where 2x the usual hourly volume is noise-free evidence) and lenient on quiet ones, which is where
barrages start.

The tail is computed directly (no SciPy in the hot path): a sum of Poisson terms for moderate ``n``, and a
Chernoff bound for large ``n`` where the exact sum would be slow and the answer is never in doubt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_EXACT_LIMIT = 200


def poisson_sf(n: int, lam: float) -> float:
    """P(X >= n) for X ~ Poisson(lam)."""
    if n <= 0:
        return 1.0
    if lam <= 0.0:
        return 0.0
    if n > _EXACT_LIMIT:
        if n <= lam:
            return 1.0
        # Chernoff: P(X >= n) <= exp(-lam) (e lam / n)^n
        return min(1.0, math.exp(-lam + n * (1.0 + math.log(lam / n))))
    # P(X < n) = sum_{k<n} e^-lam lam^k / k!, computed in log space for stability
    term = math.exp(-lam)
    if term == 0.0:  # huge lam: fall back to a normal approximation with continuity correction
        z = (n - 0.5 - lam) / math.sqrt(lam)
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    cdf = term
    for k in range(1, n):
        term *= lam / k
        cdf += term
    return max(0.0, 1.0 - cdf)


@dataclass(frozen=True, slots=True)
class Burst:
    """The outcome of a burst test: observed count, expected count and tail probability."""

    count: int
    expected: float
    p_value: float

    @property
    def ratio(self) -> float:
        return self.count / self.expected if self.expected > 0 else math.inf

    @property
    def strength(self) -> float:
        """-log10(p) scaled to [0, 1] (p = 1e-6 or smaller is full strength)."""
        if self.p_value <= 0.0:
            return 1.0
        return max(0.0, min(1.0, -math.log10(self.p_value) / 6.0))

    def to_json(self) -> dict[str, float]:
        return {"count": self.count, "expected": round(self.expected, 4),
                "p_value": float(f"{self.p_value:.3g}")}


@dataclass(frozen=True, slots=True)
class BurstTest:
    """``count >= min_count`` and ``P(X >= count | expected) < alpha``."""

    alpha: float = 1e-3
    min_count: int = 3

    def test(self, count: int, expected: float) -> Burst | None:
        if count < self.min_count:
            return None
        p = poisson_sf(count, expected)
        return Burst(count, expected, p) if p < self.alpha else None
