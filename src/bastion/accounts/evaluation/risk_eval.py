"""Account-level evaluation of the risk score: ROC-AUC, recall at ≤ 1 % of negative accounts flagged, and
how many posts an account makes before it is flagged.

Honesty rules, all enforced here:

* the score never sees the account's own label: text scores come from a model that did not train on the
  account (see :mod:`.scores`), and network seeds are the *other folds'* positive accounts - accounts
  suspended earlier - never the account itself or its fold;
* every account is replayed post by post in time order, with only the interactions of the posts made so
  far, and the profile it had at each post; its score is the highest it reached;
* the flagging threshold is read off the negatives (the lowest that flags at most 1 % of them), so recall
  and time-to-detection are at a fixed false-positive budget, and also reported at the policy's own
  account thresholds;
* ablations (posts only, posts + profile, posts + network) show what each source adds, and ``auc_first3``
  scores every account on at most its first three posts, since positives post far more than negatives.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bastion.accounts.detector import post_edges
from bastion.accounts.evaluation.data import EvalAccount, EvalCorpus
from bastion.accounts.evaluation.scores import Scores
from bastion.accounts.features import profile_score
from bastion.accounts.network import KIND_WEIGHTS, InteractionGraph, badness, propagate
from bastion.accounts.risk import AccountRiskState, RiskModel, RiskWeights, StrikePolicy
from bastion.policy.model import Policy, Subject
from bastion.records import Account

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # decision time of posts without a timestamp

VARIANTS: Mapping[str, tuple[float, float]] = {  # name -> (profile factor, network factor)
    "full": (1.0, 1.0), "posts_only": (0.0, 0.0), "posts_profile": (1.0, 0.0), "posts_network": (0.0, 1.0),
}


@dataclass(slots=True)
class Trace:
    """Per-post parts of one account's score during the replay."""

    posts: np.ndarray
    profile: np.ndarray
    network: np.ndarray


def account_thresholds(policy: Policy, signal: str) -> list[float]:
    """The ``gte`` thresholds the policy's account rules apply to ``signal`` (e.g. 0.6 review, 0.9 suspend)."""
    found: set[float] = set()

    def walk(cond: Any) -> None:
        if cond.op == "signal" and cond.signal == signal and cond.cmp in ("gte", "gt"):
            found.add(float(cond.value))
        for child in cond.children:
            walk(child)

    for rule in policy.rules_for(Subject.ACCOUNT):
        walk(rule.when)
    return sorted(found)


def assign_folds(corpus: EvalCorpus, positive: str, k: int = 5, seed: int = 0) -> dict[str, int]:
    """Account → fold, stratified by label, deterministic."""
    rng = np.random.default_rng(seed)
    folds: dict[str, int] = {}
    for want in (True, False):
        ids = sorted(a.id for a in corpus.accounts.values() if (a.label == positive) == want)
        rng.shuffle(ids)
        for i, aid in enumerate(ids):
            folds[aid] = i % k
    return folds


def build_graph(corpus: EvalCorpus) -> InteractionGraph:
    graph = InteractionGraph()
    for acc in corpus.accounts.values():
        for post in acc.posts:
            for nbr, kind in post_edges(post):
                graph.add(acc.id, nbr, kind)
    return graph


def replay(acc: EvalAccount, scores: Scores, strikes: StrikePolicy, model: RiskModel, graph: InteractionGraph,
           bad: np.ndarray, prior: float, profile_cache: dict[tuple[str, str, str], float]) -> Trace:
    state = AccountRiskState()
    edges: dict[str, float] = {}
    n = len(acc.posts)
    parts = np.zeros((3, n))
    for k, (post, prof) in enumerate(zip(acc.posts, acc.profiles, strict=True)):
        sigs = scores.get(str(post.id), {})
        at = post.created_at.timestamp() if post.created_at else None
        strike, reason = strikes.strike(str(post.id), sigs, post.created_at or _EPOCH)
        model.add_strike(state, strike, at, post.id, reason)
        parts[0, k] = 1.0 - math.exp(-model.decayed(state, at))
        parts[1, k] = _profile(prof, profile_cache)
        for nbr, kind in post_edges(post):
            edges[nbr] = edges.get(nbr, 0.0) + KIND_WEIGHTS.get(kind, 0.5)
        if edges:
            parts[2, k] = graph.neighbour_signal(acc.id, bad, prior=prior, edges=edges.items())[0]
    return Trace(parts[0], parts[1], parts[2])


def _profile(account: Account, cache: dict[tuple[str, str, str], float]) -> float:
    key = (account.handle, account.display_name, account.bio)
    if key not in cache:
        cache[key] = profile_score(account).value
    return cache[key]


def combine(trace: Trace, weights: RiskWeights, profile_f: float, network_f: float) -> np.ndarray:
    keep = (1.0 - trace.posts) * (1.0 - np.minimum(1.0, weights.profile * profile_f * trace.profile))
    keep *= 1.0 - weights.network * network_f * trace.network
    return 1.0 - keep


def threshold_at(neg_scores: np.ndarray, budget: float) -> float:
    """Lowest threshold flagging at most ``budget`` of the negatives (flag = score ≥ threshold)."""
    if len(neg_scores) == 0:
        return 0.5
    desc = np.sort(neg_scores)[::-1]
    allowed = math.floor(budget * len(desc))
    if allowed >= len(desc):
        return float(desc[-1])
    return float(np.nextafter(desc[allowed], np.inf))


def posts_to_flag(running: np.ndarray, threshold: float) -> float:
    hit = np.flatnonzero(running >= threshold)
    return float(hit[0] + 1) if len(hit) else math.inf


def _median(values: list[float]) -> float | None:
    m = float(np.median(values)) if values else math.inf
    return None if math.isinf(m) else m


def summarise(pos: list[np.ndarray], neg: list[np.ndarray], thresholds: list[float], budget: float
              ) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    pos_max = np.array([r.max() if len(r) else 0.0 for r in pos])
    neg_max = np.array([r.max() if len(r) else 0.0 for r in neg])
    pos3 = np.array([r[:3].max() if len(r) else 0.0 for r in pos])
    neg3 = np.array([r[:3].max() if len(r) else 0.0 for r in neg])
    y = np.r_[np.ones(len(pos_max)), np.zeros(len(neg_max))]
    t = threshold_at(neg_max, budget)
    steps = [posts_to_flag(r, t) for r in pos]
    out: dict[str, Any] = {
        "auc": round(float(roc_auc_score(y, np.r_[pos_max, neg_max])), 4),
        "auc_first3": round(float(roc_auc_score(y, np.r_[pos3, neg3])), 4),
        "threshold_1pct": round(t, 4),
        "recall_at_1pct": round(float((pos_max >= t).mean()), 4),
        "negatives_flagged_at_1pct": round(float((neg_max >= t).mean()), 4),
        "median_posts_to_flag": _median(steps),
        "median_posts_to_flag_among_flagged": _median([s for s in steps if not math.isinf(s)]),
    }
    out["at_policy_thresholds"] = {
        f"{th:g}": {"recall": round(float((pos_max >= th).mean()), 4),
                    "negatives_flagged": round(float((neg_max >= th).mean()), 4),
                    "median_posts_to_flag": _median([posts_to_flag(r, th) for r in pos])}
        for th in thresholds}
    return out


def evaluate_risk(corpus: EvalCorpus, scores: Scores, folds: Mapping[str, int], policy: Policy, positive: str,
                  *, weights: RiskWeights | None = None, budget: float = 0.01, alpha: float = 0.85,
                  prior: float = 1.0, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    weights = weights or RiskWeights()
    model, strikes = RiskModel(weights), StrikePolicy(policy, weights)
    graph = build_graph(corpus)
    traces: dict[str, Trace] = {}
    cache: dict[tuple[str, str, str], float] = {}
    n_folds = max(folds.values(), default=-1) + 1
    done = 0
    for f in range(n_folds):
        seeds = {aid: 1.0 for aid, acc in corpus.accounts.items() if acc.label == positive and folds.get(aid) != f}
        bad = badness(propagate(graph, seeds, alpha=alpha), seeds, graph, alpha)
        for aid, acc in corpus.accounts.items():
            if folds.get(aid) != f:
                continue
            traces[aid] = replay(acc, scores, strikes, model, graph, bad, prior, cache)
            done += 1
            if progress and done % 200 == 0:
                progress("accounts", done, len(corpus.accounts))
    thresholds = account_thresholds(policy, "account_risk")
    labels = {aid: corpus.accounts[aid].label == positive for aid in traces}
    result: dict[str, Any] = {"n_pos": sum(labels.values()), "n_neg": sum(not v for v in labels.values()),
                              "graph": {"nodes": len(graph), "edges": graph.n_edges}}
    for name, (pf, nf) in VARIANTS.items():
        running = {aid: np.maximum.accumulate(combine(tr, weights, pf, nf)) for aid, tr in traces.items()}
        summary = summarise([r for aid, r in running.items() if labels[aid]],
                            [r for aid, r in running.items() if not labels[aid]], thresholds, budget)
        if name == "full":
            result.update(summary)
        else:
            result.setdefault("ablations", {})[name] = summary
    return result
