"""Window counters, baselines and the burst test."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from bastion.campaigns.bursts import BurstTest, poisson_sf
from bastion.campaigns.windows import HEAD, KeyedWindows, N, WindowSpec, expected, recent
from bastion.errors import ConfigError

T = 1_450_000_000.0


def test_counts_slide_with_event_time() -> None:
    kw = KeyedWindows(WindowSpec(window_s=600, bucket_s=60))
    for k in range(5):
        kw.add("a", T + k * 60, flagged=k % 2 == 0)
    assert kw.count("a", T + 4 * 60) == (5, 3)
    # 10 minutes after the first post, the first bucket has left the window
    assert kw.count("a", T + 600) == (4, 2)
    assert kw.count("a", T + 2000) == (0, 0)
    assert kw.count("missing", T) == (0, 0)


def test_burst_does_not_inflate_its_own_baseline() -> None:
    spec = WindowSpec(window_s=3600, bucket_s=60, baseline_tau_s=86400)
    kw = KeyedWindows(spec)
    # a quiet day: one post an hour
    for h in range(24):
        kw.add("tag", T + h * 3600)
    before = kw.expected("tag", T + 24 * 3600)
    # a burst of 50 posts within ten minutes
    for k in range(50):
        w = kw.add("tag", T + 24 * 3600 + k * 12)
    after = expected(w, T + 24 * 3600 + 600, spec)
    assert w[N] >= 50
    assert recent(w, int((T + 24 * 3600) // 60)) == (50, 0)
    assert after == pytest.approx(before, rel=0.1)  # the burst is still in the window, not in the baseline
    assert 0.3 < after < 2.0  # about one post per hour, pulled slightly towards the prior


def test_new_key_expects_the_prior() -> None:
    spec = WindowSpec(prior_rate_per_h=0.5)
    kw = KeyedWindows(spec)
    w = kw.add("fresh", T)
    assert expected(w, T, spec) == pytest.approx(0.5, rel=1e-6)
    assert kw.expected("never-seen", T) == pytest.approx(0.5)


def test_late_events_land_in_their_bucket_or_the_baseline() -> None:
    kw = KeyedWindows(WindowSpec(window_s=600, bucket_s=60))
    kw.add("a", T + 300)
    kw.add("a", T + 120)  # out of order, still inside the window
    assert kw.count("a", T + 300) == (2, 0)
    kw.add("a", T - 2000)  # older than the window: baseline only
    assert kw.late == 1
    assert kw.count("a", T + 300) == (2, 0)


def test_snapshot_is_json_and_round_trips() -> None:
    kw = KeyedWindows()
    for k in range(100):
        kw.add(f"t{k % 7}", T + k * 45, flagged=k % 3 == 0)
    data = json.loads(json.dumps(kw.snapshot()))
    other = KeyedWindows()
    other.restore(data)
    for key in (f"t{k}" for k in range(7)):
        assert other.count(key, T + 5000) == kw.count(key, T + 5000)
    assert kw.expected("t1", T + 9000) == pytest.approx(other.expected("t1", T + 9000))
    with pytest.raises(ConfigError):
        other.restore({"keys": {"bad": [1, 2, 3]}})


def test_a_window_emptied_by_time_starts_again() -> None:
    kw = KeyedWindows(WindowSpec(window_s=600, bucket_s=60))
    kw.add("a", T)
    assert kw.count("a", T + 5000) == (0, 0)
    w = kw.get("a")
    assert w is not None and len(w) == HEAD  # only the baselines remain
    kw.add_post(["a", "b"], T + 5010, flagged=True)
    assert kw.count("a", T + 5010) == (1, 1) and kw.count("b", T + 5010) == (1, 1)


def test_prune_forgets_cold_keys_only() -> None:
    kw = KeyedWindows(WindowSpec(baseline_tau_s=3600))
    kw.add("cold", T)
    kw.add("hot", T + 86400)
    assert kw.prune(T + 86400) == 1
    assert "cold" not in kw and "hot" in kw


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 400), lam=st.floats(0.001, 300.0))
def test_poisson_tail_matches_scipy(n: int, lam: float) -> None:
    expected = float(poisson.sf(n - 1, lam))
    got = poisson_sf(n, lam)
    if n > 200:  # Chernoff bound region: an upper bound, never below the truth
        assert got >= expected - 1e-12
        if expected < 1e-12:
            assert got < 1e-3
    else:
        assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12)


def test_burst_test_needs_the_floor_and_the_tail() -> None:
    test = BurstTest(alpha=1e-3, min_count=3)
    assert test.test(2, 0.001) is None  # under the floor
    assert test.test(5, 4.0) is None  # usual for this hashtag
    burst = test.test(6, 0.1)
    assert burst is not None and burst.p_value < 1e-3 and burst.ratio == pytest.approx(60)
    assert 0 < burst.strength <= 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from("abcde"), min_size=1, max_size=3),
                          st.floats(0, 20_000), st.booleans()), max_size=60))
def test_add_post_equals_adds_and_counts_match_a_brute_force(
        events: list[tuple[list[str], float, bool]]) -> None:
    spec = WindowSpec(window_s=600, bucket_s=60)
    one, many = KeyedWindows(spec), KeyedWindows(spec)
    seen: list[tuple[str, float, bool]] = []
    for keys, dt, fl in sorted(events, key=lambda e: e[1]):
        keys = list(dict.fromkeys(keys))
        for k in keys:
            one.add(k, T + dt, fl)
            seen.append((k, T + dt, fl))
        many.add_post(keys, T + dt, fl)
    assert one.snapshot() == many.snapshot()
    if seen:
        now = max(t for _, t, _ in seen)
        lo = (int(now // 60) - spec.nbuckets + 1) * 60  # first second of the oldest bucket still in the window
        for k in "abcde":
            brute = [fl for key, t, fl in seen if key == k and t >= lo]
            assert one.count(k, now) == (len(brute), sum(brute))
