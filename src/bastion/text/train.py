"""Training and account-disjoint cross-validation of the text model.

Why these choices (measured on tvec-dev, see docs/text.md):

* Logistic regression solved to convergence with L-BFGS on the sparse matrix (see :func:`_fit`): averaged SGD
  was ten times faster but clearly short of the optimum; liblinear reached it in minutes per fit.
* NB-SVM style log-count-ratio scaling of the columns before the fit (see :func:`_fit_nb`), folded back into
  the saved weights, so the model file and scoring are unchanged.
* Class-balanced sample weights (every negative class, from the large ``ordinary`` to the small
  ``about_isis``, weighs as much in total as the others): otherwise the loss is spent on ordinary tweets and the
  hard negatives - news and talk about the same war - get almost none.
* Folds are grouped by account for ``pro_isis`` (one account's tweets are alike; a random split would measure
  recognising the account, not the content), stratified by class.
* Calibration: Platt scaling on out-of-fold decision values (grouped folds inside the training data), so the
  shipped probability is honest on accounts the model has not seen.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from bastion.text.corpus import POSITIVE, Example, is_permissive
from bastion.text.features import FeatureConfig, Featurizer
from bastion.text.model import Head, TextModel
from bastion.text.normalize import fold

__all__ = ["REPORTING_CLASSES", "CVResult", "TrainParams", "cross_validate", "featurize", "train_model"]

log = logging.getLogger(__name__)

#: Words of the conflict itself. Negatives that use them are the hard ones: most negative data is about
#: anything else, so without extra weight the model learns "talks about Syria" instead of "endorses".
#: Matched on folded text (see bastion.text.normalize.fold).
TOPIC = re.compile(
    r"\b(?:isis|isil|daesh|islamic state|jihad\w*|syria\w*|iraq\w*|mosul|raqqa|aleppo|assad|caliphat\w*|"
    r"terror\w*|al ?qa[ie]da|nusra|kurd\w*|ypg|airstrikes?|militants?|mujahi\w*|sharia|kuffar|jihadis?)\b"
    r"|(?:داعش|الدوله|سوريا|العراق|الموصل|الرقه|حلب|الاسد|جهاد|الخلافه|ارهاب|المجاهدين|التحالف)")

#: Classes whose texts are about terrorism without endorsing it: the positives of the true-purpose head.
REPORTING_CLASSES = frozenset({"news_terror", "crisis_public", "counter_speech", "about_isis"})

Progress = Callable[[int], None]  # called with the number of newly processed items


@dataclass(frozen=True, slots=True)
class TrainParams:
    n_bits: int = 21
    mention_handles: bool = True
    mention_roles: bool = True  # a reply's addressees apart from other handles (FeatureConfig.mention_roles)
    l2: float = 3e-6  # L2 penalty per (weighted, averaged) example
    max_iter: int = 300
    balance: float = 1.0  # 1: every class weighs the same in total; 0: every example weighs the same
    topic_boost: float = 3.0  # extra weight of negatives that talk about the same conflict (see TOPIC)
    calib_folds: int = 3
    seed: int = 0
    #: NB-SVM style scaling (Wang & Manning 2012): each column is multiplied by its weighted log-count ratio
    #: between positives and negatives (with this additive smoothing) before the fit, and the ratio is folded
    #: back into the saved weights, so scoring costs nothing extra. ``None`` turns it off.
    nb_alpha: float | None = 1.0

    def feature_config(self) -> FeatureConfig:
        return FeatureConfig(n_bits=self.n_bits, mention_handles=self.mention_handles,
                             mention_roles=self.mention_roles)


@dataclass(slots=True)
class CVResult:
    """Out-of-fold scores for every example (``nan`` where an example was in no test fold)."""

    decision: npt.NDArray[np.float64]
    reporting: npt.NDArray[np.float64]
    folds: int
    train_filter: str
    last_model: TextModel | None = None  # the last fold's model, to time scoring


def featurize(examples: Sequence[Example], config: FeatureConfig, progress: Progress | None = None,
              chunk: int = 2000) -> sparse.csr_matrix:
    fz = Featurizer(config)
    parts = []
    for start in range(0, len(examples), chunk):
        part = examples[start:start + chunk]
        parts.append(fz.transform([e.text for e in part]).matrix(fz.n_cols))
        if progress:
            progress(len(part))
    return sparse.vstack(parts).tocsr()


def class_weights(labels: Sequence[str], balance: float) -> npt.NDArray[np.float64]:
    counts = Counter(labels)
    n = len(labels)
    w = np.array([(n / (len(counts) * counts[lab])) ** balance for lab in labels], dtype=np.float64)
    out: npt.NDArray[np.float64] = w / w.mean()
    return out


def _fit(x: sparse.csr_matrix, y: npt.NDArray[np.bool_], w: npt.NDArray[np.float64],
         params: TrainParams) -> Head:
    """Weighted, L2-regularised logistic regression solved to convergence with L-BFGS.

    Why not SGD: averaged SGD (ten passes) stopped short of the optimum; on one account-disjoint fold the
    converged solution raised ROC-AUC against keyword_mentions from 0.964 to 0.977 and against ordinary from
    0.980 to 0.990. scikit-learn's liblinear reaches the same optimum but took minutes per fit here; L-BFGS on
    the sparse matrix needs about a hundred matrix-vector products.
    """
    from scipy import optimize

    n = x.shape[0]
    ys = np.where(y, 1.0, -1.0)
    x = x.astype(np.float32, copy=False)
    xt = x.T.tocsr()
    lam = params.l2

    def loss_grad(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        coef, b = theta[:-1], theta[-1]
        # matrix-vector products in float32: a float64 vector makes scipy upcast the whole matrix on every
        # call, which was 6-20 times slower; the sums that need precision stay in float64
        margin = ys * ((x @ coef.astype(np.float32)).astype(np.float64) + b)
        loss = float(np.sum(w * np.logaddexp(0.0, -margin)) / n + 0.5 * lam * coef @ coef)
        g = -w * ys * 0.5 * (1.0 - np.tanh(margin / 2.0)) / n  # d loss / d z = -w y sigmoid(-margin)
        grad = np.empty_like(theta)
        grad[:-1] = (xt @ g.astype(np.float32)).astype(np.float64) + lam * coef
        grad[-1] = g.sum()
        return loss, grad

    res = optimize.minimize(loss_grad, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                            options={"maxiter": params.max_iter})
    log.info("L-BFGS: %d iterations, %s", res.nit, res.message)
    return Head(res.x[:-1].astype(np.float32), float(res.x[-1]))


def nb_ratio(x: sparse.csr_matrix, y: npt.NDArray[np.bool_], w: npt.NDArray[np.float64],
             alpha: float) -> npt.NDArray[np.float64]:
    """Per column: ``log(p_j / q_j)``, where ``p`` (``q``) is the smoothed, normalised weighted number of
    positive (negative) examples in which the column occurs. Columns that occur in no example get 0."""
    present = x.copy()
    present.data = np.ones_like(present.data)
    present.sum_duplicates()
    present.data = np.ones_like(present.data)
    xt = present.T.tocsr()
    p = xt @ np.where(y, w, 0.0) + alpha
    q = xt @ np.where(y, 0.0, w) + alpha
    r: npt.NDArray[np.float64] = np.log(p / p.sum()) - np.log(q / q.sum())
    r[np.diff(xt.indptr) == 0] = 0.0
    return r


def _scale_columns(x: sparse.csr_matrix, s: npt.NDArray[np.float64]) -> sparse.csr_matrix:
    out = x.copy()
    out.data = (out.data * s[out.indices]).astype(np.float32)
    return out


def _fit_nb(x: sparse.csr_matrix, y: npt.NDArray[np.bool_], w: npt.NDArray[np.float64],
            params: TrainParams) -> Head:
    """:func:`_fit`, with NB log-count-ratio scaling when ``params.nb_alpha`` is set. The fit is on the
    scaled columns; the returned weights are multiplied by the ratio, so ``x @ weights`` scores raw features.
    Why: on an account-disjoint fold it raised AUC against keyword_mentions, news_terror and ordinary and
    halved the ordinary false-positive rate at recall 0.8 (docs/text.md)."""
    if params.nb_alpha is None:
        return _fit(x, y, w, params)
    r = nb_ratio(x, y, w, params.nb_alpha)
    head = _fit(_scale_columns(x, r), y, w, params)
    head.weights = (head.weights * r).astype(np.float32)
    return head


def _platt(decision: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000).fit(decision.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _folds(examples: Sequence[Example], k: int, seed: int) -> list[tuple[npt.NDArray[np.intp],
                                                                         npt.NDArray[np.intp]]]:
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.array([e.label for e in examples])
    groups = np.array([e.group for e in examples])
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(examples)), labels, groups))


def propaganda_weights(examples: Sequence[Example], params: TrainParams
                       ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The propaganda head's sample weights (classes balanced, negatives about the conflict boosted) and which
    examples are those topical negatives."""
    w = class_weights([e.label for e in examples], params.balance)
    topical_neg = np.array([not e.positive and TOPIC.search(fold(e.text)) is not None for e in examples])
    if params.topic_boost != 1.0:
        w = w * np.where(topical_neg, params.topic_boost, 1.0)
        w = w / w.mean()
    return w, topical_neg


def _heads(x: sparse.csr_matrix, examples: Sequence[Example], params: TrainParams,
           with_reporting: bool = True) -> tuple[Head, Head | None]:
    y = np.array([e.positive for e in examples])
    w, topical_neg = propaganda_weights(examples, params)
    prop = _fit_nb(x, y, w, params)
    # true purpose: endorsing (pro_isis) against texts about the same subject that do not endorse it - the
    # reporting classes, and any other negative that talks about the conflict
    topical = np.array([e.label in REPORTING_CLASSES or e.positive for e in examples]) | topical_neg
    reporting = None
    if with_reporting and topical.any() and y[topical].any() and (~y[topical]).any():
        yr = ~y[topical]
        wr = class_weights(["rep" if v else "end" for v in yr], 1.0)
        reporting = _fit_nb(x[topical], yr, wr, params)
    return prop, reporting


def train_model(examples: Sequence[Example], params: TrainParams | None = None,
                progress: Progress | None = None, version: str | None = None) -> TextModel:
    """Fit both heads on ``examples`` and calibrate the propaganda head on grouped out-of-fold scores."""
    params = params or TrainParams()
    x = featurize(examples, params.feature_config(), progress)
    y = np.array([e.positive for e in examples])
    oof = np.zeros(len(examples))
    for tr, te in _folds(examples, params.calib_folds, params.seed):
        head, _ = _heads(x[tr], [examples[i] for i in tr], params, with_reporting=False)
        oof[te] = x[te] @ head.weights + head.bias
    a, c = _platt(oof, y)
    prop, reporting = _heads(x, examples, params)
    prop.platt_a, prop.platt_c = a, c
    counts = Counter(e.label for e in examples)
    datasets = Counter(e.dataset for e in examples)
    meta: dict[str, Any] = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": asdict(params),
        "classes": dict(sorted(counts.items())),
        "datasets": dict(sorted(datasets.items())),
        "permissive_only": all(is_permissive(d) for d in datasets),
        "positive": POSITIVE,
    }
    return TextModel(params.feature_config(), prop, reporting,
                     version=version or f"sgd-{str(meta['trained_at'])[:10]}", meta=meta)


def cross_validate(examples: Sequence[Example], k: int = 5, params: TrainParams | None = None,
                   train_filter: Callable[[Example], bool] | None = None, filter_name: str = "all",
                   progress: Progress | None = None) -> CVResult:
    """Account-disjoint K-fold: train on K-1 folds (optionally only the examples ``train_filter`` keeps),
    score the held-out fold. Returns raw decision values (ranking metrics need no calibration)."""
    params = params or TrainParams()
    x = featurize(examples, params.feature_config(), progress)
    decision = np.full(len(examples), np.nan)
    reporting = np.full(len(examples), np.nan)
    last: TextModel | None = None
    for fold_no, (tr, te) in enumerate(_folds(examples, k, params.seed)):
        if train_filter is not None:
            tr = np.array([i for i in tr if train_filter(examples[i])], dtype=np.intp)
        prop, rep = _heads(x[tr], [examples[i] for i in tr], params)
        decision[te] = x[te] @ prop.weights + prop.bias
        if rep is not None:
            reporting[te] = rep.proba(x[te] @ rep.weights + rep.bias)
        last = TextModel(params.feature_config(), prop, rep, version=f"cv-fold-{fold_no + 1}")
        log.info("fold %d/%d: trained on %d, scored %d", fold_no + 1, k, len(tr), len(te))
    return CVResult(decision, reporting, k, filter_name, last)
