from datetime import UTC, datetime

import numpy as np
import pytest

from bastion.accounts.network import (
    InteractionGraph,
    badness,
    clusters_for_review,
    communities,
    propagate,
)
from bastion.accounts.risk import AccountRiskState, RiskModel, RiskWeights, StrikePolicy
from bastion.policy.loader import load_policy
from bastion.signals import Signal

NOW = datetime(2016, 1, 1, tzinfo=UTC)
DAY = 86400.0


def sig(name: str, value: float) -> Signal:
    return Signal(name, value, "test", "0")


@pytest.fixture(scope="module")
def strikes() -> StrikePolicy:
    return StrikePolicy(load_policy(None).promote(["propaganda-remove"]), RiskWeights())


def test_strikes_follow_the_policy(strikes: StrikePolicy) -> None:
    remove, why = strikes.strike("p1", {"propaganda": sig("propaganda", 0.97), "reporting": sig("reporting", 0.1)},
                                 NOW)
    review, why2 = strikes.strike("p2", {"propaganda": sig("propaganda", 0.7)}, NOW)
    reporting, _ = strikes.strike("p3", {"propaganda": sig("propaganda", 0.97), "reporting": sig("reporting", 0.9)},
                                  NOW)
    nothing, _ = strikes.strike("p4", {"propaganda": sig("propaganda", 0.1)}, NOW)
    assert remove > reporting >= review > nothing == 0.0
    assert "propaganda-remove" in why and "propaganda-review" in why2
    assert remove == pytest.approx(1.0 + 0.3 * (0.97 - 0.2) / 0.8)


def test_a_review_standing_in_for_removal_strikes_like_the_removal() -> None:
    shipped = StrikePolicy(load_policy(None), RiskWeights())  # propaganda-remove in shadow, reviewed instead
    signals = {"propaganda": sig("propaganda", 0.97), "reporting": sig("reporting", 0.1)}
    strike, why = shipped.strike("p1", signals, NOW)
    assert why == "policy:propaganda-review-high@1"
    assert strike == pytest.approx(1.0 + 0.3 * (0.97 - 0.2) / 0.8)
    plain_review, _ = shipped.strike("p2", {"propaganda": sig("propaganda", 0.7)}, NOW)
    assert plain_review == pytest.approx(0.35 + 0.3 * (0.7 - 0.2) / 0.8)


def test_decay_and_score() -> None:
    model = RiskModel(RiskWeights(half_life_days=10))
    st = AccountRiskState()
    model.add_strike(st, 1.0, 0.0, "p1", "x")
    assert model.decayed(st, 10 * DAY) == pytest.approx(0.5)
    before = model.score(st, 0.0)
    model.add_strike(st, 1.0, 1 * DAY, "p2", "y")
    assert model.score(st, 1 * DAY) > before
    st.profile, st.network = 0.5, 0.5
    full = model.score(st, 1 * DAY)
    assert full > model.score(AccountRiskState(strikes=st.strikes, last_time=st.last_time), 1 * DAY)
    explained = model.explain(st, 1 * DAY)
    assert explained["top"][0]["signal"] == "posts"
    assert [p["ref"] for p in explained["top"][0]["posts"]] == ["p1", "p2"]
    assert {t["signal"] for t in explained["top"]} == {"posts", "profile", "network"}
    assert AccountRiskState.from_json(st.to_json()).to_json() == st.to_json()


def line_graph() -> InteractionGraph:
    """d reposts c, c reposts b, b reposts a, a reposts the seed."""
    g = InteractionGraph()
    for a, b in [("a", "seed"), ("b", "a"), ("c", "b"), ("d", "c")]:
        g.add(a, b, "repost")
    return g


def test_propagation_decays_with_distance_and_follows_endorsement() -> None:
    g = line_graph()
    g.add("seed", "journalist", "mention")  # being mentioned by a suspended account is no evidence
    seeds = {"seed": 1.0}
    bad = badness(propagate(g, seeds), seeds, g)
    order = [bad[g.index[n]] for n in ("seed", "a", "b", "c", "d")]
    assert order == sorted(order, reverse=True) and order[0] == 1.0 and order[-1] > 0
    assert bad[g.index["a"]] > 0.6  # a's only own interaction is with the seed
    assert bad[g.index["journalist"]] == 0.0
    assert propagate(g, {}).sum() == 0.0


def test_neighbour_values_match_neighbour_signal_for_every_node() -> None:
    g = line_graph()
    g.add("x", "seed", "repost")
    g.add("x", "d", "mention")
    g.add("x", "seed", "mention")  # a duplicate pair: weights add up
    seeds = {"seed": 1.0}
    bad = badness(propagate(g, seeds), seeds, g)
    values = g.neighbour_values(bad, prior=1.0)
    for name, idx in g.index.items():
        assert values[idx] == pytest.approx(g.neighbour_signal(name, bad, prior=1.0)[0], abs=1e-12)
    assert values[g.index["seed"]] == 0.0  # no interactions of its own


def test_look_ups_between_rebuilds_see_the_pending_edges() -> None:
    g = line_graph()
    seeds = {"seed": 1.0}
    bad = badness(propagate(g, seeds), seeds, g)  # builds the matrix
    g.add("d", "seed", "repost")  # pending: an existing node's new neighbour
    g.add("d", "c", "mention")  # pending: a second interaction with a known neighbour
    g.add("newcomer", "seed", "mention")  # pending: a node the matrix has never seen
    bad = np.pad(bad, (0, len(g) - len(bad)))
    pending = {n: g.neighbour_signal(n, bad) for n in ("d", "newcomer", "a")}
    g.matrix(directed=True)  # a full rebuild gives the same answers
    for name, (value, refs) in pending.items():
        full = g.neighbour_signal(name, bad)
        assert value == pytest.approx(full[0], abs=1e-12) and refs == full[1]
    assert pending["d"][1][0] == "seed" and pending["newcomer"][0] > 0


def test_neighbour_signal_is_shrunk_and_names_the_worst() -> None:
    g = line_graph()
    g.add("x", "seed", "repost")
    g.add("x", "d", "mention")
    seeds = {"seed": 1.0}
    bad = badness(propagate(g, seeds), seeds, g)
    value, refs = g.neighbour_signal("x", bad, prior=1.0)
    assert 0 < value < 1 and refs[0] == "seed"
    only_first, _ = g.neighbour_signal("x", bad, prior=1.0, edges=[("d", 0.7)])
    assert only_first < value
    assert g.neighbour_signal("nobody", bad) == (0.0, [])


def test_communities_and_clusters() -> None:
    g = InteractionGraph()
    left, right = ["l1", "l2", "l3", "l4"], ["r1", "r2", "r3", "r4"]
    for group in (left, right):
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                g.add(a, b, "repost")
    g.add("l1", "r1", "reply")
    labels = communities(g)
    assert len({labels[g.index[n]] for n in left}) == 1
    assert labels[g.index["l2"]] != labels[g.index["r2"]]
    risk = np.array([0.9 if n.startswith("l") else 0.1 for n in g.names])
    found = clusters_for_review(g, risk, {"l1": 1.0}, min_size=3, min_mean_risk=0.3, labels=labels)
    assert len(found) == 1 and set(found[0].members) == set(left) and found[0].seeds == 1
    arrays = g.to_arrays()
    again = InteractionGraph.from_arrays(g.names, arrays)
    assert (again.matrix() != g.matrix()).nnz == 0
