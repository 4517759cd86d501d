"""NB log-count-ratio scaling and the float32 L-BFGS fit of the text model's heads."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import sparse

from bastion.text.corpus import load_corpus
from bastion.text.train import TrainParams, _fit, _fit_nb, _scale_columns, nb_ratio, train_model


def _toy() -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    # columns: 0 only in positives, 1 only in negatives, 2 in both, 3 in none; row 0 repeats column 0
    rows = [[2.0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 0], [0, 1, 1, 0]]
    x = sparse.csr_matrix(np.array(rows, dtype=np.float32))
    y = np.array([True, True, False, False, False])
    w = np.ones(5)
    return x, y, w


def test_nb_ratio_by_hand() -> None:
    x, y, w = _toy()
    r = nb_ratio(x, y, w, alpha=1.0)
    # presence counts (a repeated feature counts once): positives [2, 0, 1, 0], negatives [0, 3, 2, 0]
    p = np.array([2, 0, 1, 0]) + 1.0
    q = np.array([0, 3, 2, 0]) + 1.0
    expect = np.log(p / p.sum()) - np.log(q / q.sum())
    expect[3] = 0.0  # a column seen in no example carries no ratio
    assert np.allclose(r, expect)
    assert r[0] > 0 > r[1]
    # weights count: doubling the weight of the positives raises every positive ratio
    r2 = nb_ratio(x, y, np.where(y, 2.0, 1.0), alpha=1.0)
    assert r2[0] > r[0] and math.isclose(r2[3], 0.0)


def test_nb_fit_weights_score_raw_features() -> None:
    x, y, w = _toy()
    params = TrainParams(l2=1e-3, max_iter=200, nb_alpha=1.0)
    head = _fit_nb(x, y, w, params)
    r = nb_ratio(x, y, w, 1.0)
    inner = _fit(_scale_columns(x, r), y, w, params)
    # the folded weights applied to the raw matrix give the scaled fit's scores
    assert np.allclose(x @ head.weights, _scale_columns(x, r) @ inner.weights, atol=1e-5)
    scores = x @ head.weights + head.bias
    assert scores[y].min() > scores[~y].max()
    plain = _fit_nb(x, y, w, TrainParams(l2=1e-3, max_iter=200, nb_alpha=None))
    assert np.allclose(plain.weights, _fit(x, y, w, params).weights)


def test_fit_accepts_float64_matrix() -> None:
    x, y, w = _toy()
    head = _fit(x.astype(np.float64), y, w, TrainParams(l2=1e-3, max_iter=200))
    assert head.weights.dtype == np.float32
    assert (x @ head.weights + head.bias)[y].min() > 0


def test_train_model_records_and_uses_nb(corpus_file: Path) -> None:
    examples = load_corpus(corpus_file)
    with_nb = train_model(examples, TrainParams(n_bits=16, max_iter=50), version="nb")
    without = train_model(examples, TrainParams(n_bits=16, max_iter=50, nb_alpha=None), version="plain")
    assert with_nb.meta["params"]["nb_alpha"] == 1.0 and without.meta["params"]["nb_alpha"] is None
    assert not np.allclose(with_nb.propaganda.weights, without.propaganda.weights)
    y = np.array([e.positive for e in examples])
    p, _ = with_nb.score([e.text for e in examples])
    assert p[y].mean() > 0.5 > p[~y].mean()
