"""The interaction graph: who mentions, reposts, replies to and follows whom.

Supporter networks are dense: accounts repost the same few outlets and shout out each other's new accounts,
so an account that keeps interacting with suspended or high-risk accounts is itself suspicious, and a dense
cluster around known-bad accounts is worth reviewing in bulk. Two computations on a SciPy sparse matrix:

* :func:`propagate` - label propagation with restart (personalised PageRank) from known-bad *seeds*:
  suspended accounts (weight 1) and, optionally, accounts whose own risk is already high (their risk as
  weight). Badness flows back along interactions: an account is as suspect as the accounts *it* reposts,
  mentions, replies to and follows - and, at half weight, as the accounts that repost it (amplification).
  Being merely mentioned or replied to by supporters, as journalists, officials and opponents are, says
  nothing about an account. A node whose
  interactions are all with seeds scores ``alpha``; every further hop multiplies by about ``alpha``, so
  :func:`badness` divides by ``alpha`` to read "how bad are the accounts it interacts with" in [0, 1].
* :func:`communities` - label-propagation community detection (Raghavan et al. 2007), vectorised, then
  ranked by the mean risk of their members so reviewers take the worst clusters first.

An account's *network signal* (:meth:`InteractionGraph.neighbour_signal`) is the weighted mean badness of
the accounts it interacted with (its own outgoing interactions), shrunk towards zero for accounts with few
interactions - one hop over propagated scores, so it can be updated per account as its posts arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from bastion.records import EdgeKind

log = logging.getLogger(__name__)

#: How much one interaction of each kind says about affinity. Replies are weakest: they are also where
#: counter-speech happens.
KIND_WEIGHTS: Mapping[str, float] = {EdgeKind.REPOST.value: 1.0, EdgeKind.FOLLOW.value: 0.8,
                                     EdgeKind.MENTION.value: 0.7, EdgeKind.REPLY.value: 0.4}


PENDING_MAX = 256  # edges added since the last matrix build that a single account's look-up merges in


class InteractionGraph:
    """An append-only weighted multigraph over account handles, with a cached symmetric CSR matrix."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []
        self._src: list[int] = []
        self._dst: list[int] = []
        self._w: list[float] = []
        self._repost: list[bool] = []
        self._matrix: sp.csr_matrix | None = None
        self._built = 0  # edges the cached matrices hold; later ones are pending
        self._pending: dict[int, list[int]] = {}  # source node -> its pending edges (when a matrix is cached)
        self._symmetric: sp.csr_matrix = sp.csr_matrix((0, 0))
        self._amplified: sp.csr_matrix = sp.csr_matrix((0, 0))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_edges(self) -> int:
        return len(self._w)

    def node(self, name: str) -> int:
        idx = self.index.get(name)
        if idx is None:
            idx = self.index[name] = len(self.names)
            self.names.append(name)
        return idx

    def add(self, src: str, dst: str, kind: str, weight: float | None = None) -> None:
        if src == dst:
            return
        if self._matrix is not None:
            self._pending.setdefault(self.node(src), []).append(len(self._w))
        self._src.append(self.node(src))
        self._dst.append(self.node(dst))
        self._w.append(KIND_WEIGHTS.get(kind, 0.5) if weight is None else weight)
        self._repost.append(kind == EdgeKind.REPOST.value)

    def matrix(self, directed: bool = False) -> sp.csr_matrix:
        """Weighted adjacency (duplicate edges summed): ``directed`` rows are the interactions an account
        made (who it reposted, mentioned, followed); otherwise symmetric. Rebuilt when edges were added."""
        if self._matrix is None or self._built != len(self._w):
            n = len(self.names)
            src = np.asarray(self._src, dtype=np.int64)
            dst = np.asarray(self._dst, dtype=np.int64)
            w = np.asarray(self._w, dtype=np.float64)
            out = sp.coo_matrix((w, (src, dst)), shape=(n, n)).tocsr()
            out.sum_duplicates()
            rep = np.asarray(self._repost, dtype=bool)
            self._matrix, self._built = out, len(w)
            self._pending = {}
            self._symmetric = (out + out.T).tocsr()
            self._amplified = sp.coo_matrix((w[rep], (dst[rep], src[rep])), shape=(n, n)).tocsr()
        return self._matrix if directed else self._symmetric

    def amplifiers(self) -> sp.csr_matrix:
        """Row = an account, columns = the accounts that reposted it (reposts only: amplification)."""
        self.matrix()
        return self._amplified

    def neighbour_signal(self, name: str, bad: np.ndarray, prior: float = 1.0,
                         edges: Iterable[tuple[str, float]] | None = None, top: int = 3
                         ) -> tuple[float, list[str]]:
        """Weighted mean badness of ``name``'s neighbours, shrunk by ``prior`` pseudo-interactions of
        badness 0, with the worst neighbours named. ``edges`` (neighbour, weight) restricts the look to
        some interactions (e.g. those of an account's first posts); default: all of them."""
        if edges is None:
            idx = self.index.get(name)
            if idx is None:
                return 0.0, []
            nbrs, weights = self._row(idx)
        else:
            pairs = [(self.index[n], w) for n, w in edges if n in self.index]
            if not pairs:
                return 0.0, []
            nbrs = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
            weights = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs))
        if len(nbrs) == 0:
            return 0.0, []
        contrib = weights * bad[nbrs]
        value = float(contrib.sum() / (weights.sum() + prior))
        order = np.argsort(-contrib)[:top]
        refs = [self.names[int(nbrs[i])] for i in order if contrib[i] > 0]
        return value, refs

    def _row(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        """Node ``idx``'s outgoing neighbours and summed weights, in column order, as in the directed matrix.
        Edges added since the matrix was built are merged in (up to ``PENDING_MAX`` of them), so scoring an
        account right after its post added an edge does not rebuild the whole graph's matrix."""
        if self._matrix is None or len(self._w) - self._built > PENDING_MAX:
            self.matrix(directed=True)
        m = self._matrix
        assert m is not None  # built just above
        if idx < m.shape[0]:
            lo, hi = m.indptr[idx], m.indptr[idx + 1]
            nbrs, weights = m.indices[lo:hi], m.data[lo:hi]
        else:
            nbrs, weights = np.zeros(0, dtype=np.int64), np.zeros(0)
        pending = self._pending.get(idx)
        if not pending:
            return nbrs, weights
        merged = dict(zip(nbrs.tolist(), weights.tolist(), strict=True))
        for k in pending:
            merged[self._dst[k]] = merged.get(self._dst[k], 0.0) + self._w[k]
        cols = sorted(merged)
        return np.asarray(cols, dtype=np.int64), np.asarray([merged[c] for c in cols], dtype=np.float64)

    def neighbour_values(self, bad: np.ndarray, prior: float = 1.0) -> np.ndarray:
        """:meth:`neighbour_signal`'s value for every node at once (one sparse product), without the names."""
        m = self.matrix(directed=True)
        n = m.shape[0]
        b = np.zeros(n)
        b[:min(n, len(bad))] = bad[:n]
        total = np.asarray(m.sum(axis=1)).ravel() + prior
        out: np.ndarray = np.divide(m @ b, total, out=np.zeros(n), where=total > 0)
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"graph_src": np.asarray(self._src, dtype=np.int64),
                "graph_dst": np.asarray(self._dst, dtype=np.int64),
                "graph_w": np.asarray(self._w, dtype=np.float64),
                "graph_repost": np.asarray(self._repost, dtype=bool)}

    @classmethod
    def from_arrays(cls, names: Sequence[str], arrays: Mapping[str, np.ndarray]) -> InteractionGraph:
        g = cls()
        g.names = list(names)
        g.index = {n: i for i, n in enumerate(g.names)}
        g._src = arrays["graph_src"].astype(np.int64).tolist()
        g._dst = arrays["graph_dst"].astype(np.int64).tolist()
        g._w = arrays["graph_w"].astype(np.float64).tolist()
        rep = arrays.get("graph_repost")
        g._repost = rep.astype(bool).tolist() if rep is not None else [False] * len(g._w)
        return g


def propagate(graph: InteractionGraph, seeds: Mapping[str, float], *, alpha: float = 0.85, iters: int = 50,
              tol: float = 1e-6, amplified: float = 0.5) -> np.ndarray:
    """Label propagation with restart from ``seeds`` (name → prior in [0, 1]); seeds stay at least at their
    prior. A node's score comes from the accounts it interacts with and, with weight ``amplified``, from
    the accounts that repost it (an outlet reposted by suspended accounts is part of their network; an
    account they merely mention is not). Returns one score per node, in graph order."""
    n = len(graph)
    y = np.zeros(n)
    for name, prior in seeds.items():
        idx = graph.index.get(name)
        if idx is not None:
            y[idx] = max(y[idx], float(prior))
    if n == 0 or not y.any():
        return y
    a = (graph.matrix(directed=True) + amplified * graph.amplifiers()).tocsr()
    deg = np.asarray(a.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    walk = sp.diags(inv) @ a
    s = y.copy()
    for _ in range(iters):
        nxt = np.maximum(alpha * (walk @ s) + (1 - alpha) * y, y)
        if np.abs(nxt - s).max() < tol:
            s = nxt
            break
        s = nxt
    return s


def badness(scores: np.ndarray, seeds: Mapping[str, float], graph: InteractionGraph, alpha: float = 0.85
            ) -> np.ndarray:
    """Propagated scores read as badness in [0, 1]: seeds keep their prior, others are scaled by 1/alpha."""
    bad = np.minimum(1.0, scores / alpha)
    for name, prior in seeds.items():
        idx = graph.index.get(name)
        if idx is not None:
            bad[idx] = max(float(prior), 0.0)
    return bad


@dataclass(frozen=True, slots=True)
class Cluster:
    """A community of the interaction graph, for bulk review."""

    id: int
    members: tuple[str, ...]
    mean_risk: float
    seeds: int
    internal_weight: float

    def to_json(self, max_members: int = 50) -> dict[str, object]:
        return {"id": self.id, "size": len(self.members), "mean_risk": round(self.mean_risk, 4),
                "seeds": self.seeds, "internal_weight": round(self.internal_weight, 2),
                "members": list(self.members[:max_members])}


def communities(graph: InteractionGraph, *, iters: int = 30, seed: int = 0) -> np.ndarray:
    """Community label of every node by label propagation, vectorised: each round, a random half of the
    nodes adopt the label their neighbours weigh most (updating everyone at once oscillates on star- and
    bipartite-shaped parts of the graph; updating half breaks the symmetry)."""
    n = len(graph)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    a = (graph.matrix() + sp.identity(n, format="csr") * 1e-3).tocsr()
    rng = np.random.default_rng(seed)
    jitter = rng.random(n) * 1e-6  # deterministic tie-breaking between equally heavy labels
    labels = np.arange(n)
    stable = 0
    for _ in range(iters):
        onehot = sp.csr_matrix((np.ones(n) + jitter[labels], (np.arange(n), labels)), shape=(n, n))
        best = np.asarray((a @ onehot).tocsr().argmax(axis=1)).ravel()
        update = rng.random(n) < 0.5
        new = np.where(update, best, labels)
        stable = stable + 1 if np.array_equal(best, labels) else 0
        labels = new
        if stable >= 2:
            break
    _, compact = np.unique(labels, return_inverse=True)
    return compact.astype(np.int64)


def clusters_for_review(graph: InteractionGraph, risk: np.ndarray, seeds: Mapping[str, float], *,
                        min_size: int = 3, min_mean_risk: float = 0.3, labels: np.ndarray | None = None
                        ) -> list[Cluster]:
    """Communities of at least ``min_size`` members whose mean risk is at least ``min_mean_risk``, worst
    first. ``risk`` is one score per node (e.g. :func:`badness` or the account risk scores)."""
    labels = communities(graph) if labels is None else labels
    a = graph.matrix().tocoo()
    out: list[Cluster] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < min_size:
            continue
        mean = float(risk[members].mean())
        if mean < min_mean_risk:
            continue
        inside = np.isin(a.row, members) & np.isin(a.col, members)
        names = tuple(sorted((graph.names[int(i)] for i in members), key=lambda nm: -risk[graph.index[nm]]))
        out.append(Cluster(int(label), names, mean, sum(1 for nm in names if nm in seeds),
                           float(a.data[inside].sum()) / 2))
    out.sort(key=lambda c: (-c.mean_risk, -len(c.members)))
    return out
