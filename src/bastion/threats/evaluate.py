"""Measure the threat detector on labelled data (the eval JSONL format: ``text``, ``class``, ``lang``,
``dataset``).

Threats are 1-2% of real traffic, so AUC alone flatters: the report gives precision and recall at the
operating point (the ``threat`` signal's 0.5, which the default policy uses) and the base rate, per language
and per dataset. ``cv`` folds train and score the optional n-gram model out of fold, so a figure for a model
trained on the evaluation data is never an in-sample one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.errors import InputError

log = logging.getLogger(__name__)

POSITIVE = "threat"


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: int
    lang: str
    dataset: str


def read_examples(path: Path, limit: int | None = None) -> list[Example]:
    if not path.is_file():
        raise InputError(f"evaluation data {path} does not exist")
    out: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                out.append(
                    Example(
                        str(r.get("id", n)),
                        str(r["text"]),
                        int(r["class"] == POSITIVE),
                        str(r.get("lang") or "und"),
                        str(r.get("dataset") or "unknown"),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"{path}:{n}: not an evaluation record ({exc})") from exc
            if limit and len(out) >= limit:
                break
    if not out:
        raise InputError(f"{path}: no records")
    return out


def _auc(y: NDArray[np.int_], s: NDArray[np.float64]) -> float | None:
    if y.min() == y.max():
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, s)), 4)


def _at(y: NDArray[np.int_], s: NDArray[np.float64], threshold: float) -> dict[str, Any]:
    flagged = s >= threshold
    tp = int((flagged & (y == 1)).sum())
    return {
        "threshold": threshold,
        "precision": round(tp / max(1, int(flagged.sum())), 4),
        "recall": round(tp / max(1, int(y.sum())), 4),
        "flagged": int(flagged.sum()),
        "positives": int(y.sum()),
        "base_rate": round(float(y.mean()), 4),
    }


def _precision_at_recall(y: NDArray[np.int_], s: NDArray[np.float64], recall: float) -> dict[str, Any]:
    order = np.argsort(-s, kind="stable")
    tp = np.cumsum(y[order])
    k = int(np.searchsorted(tp, recall * y.sum()))
    k = min(k, len(y) - 1)
    return {"recall": recall, "precision": round(float(tp[k]) / (k + 1), 4), "threshold": round(float(s[order][k]), 6)}


def _recall_at_precision(y: NDArray[np.int_], s: NDArray[np.float64], precision: float) -> dict[str, Any]:
    """The highest recall any threshold reaches while keeping at least ``precision`` (0 when none does)."""
    order = np.argsort(-s, kind="stable")
    tp = np.cumsum(y[order])
    prec = tp / np.arange(1, len(y) + 1)
    ok = np.where(prec >= precision)[0]
    if not len(ok) or not y.sum():
        return {"precision": precision, "recall": 0.0, "threshold": None}
    k = int(ok[np.argmax(tp[ok])])
    return {"precision": precision, "recall": round(float(tp[k]) / int(y.sum()), 4),
            "threshold": round(float(s[order][k]), 6)}


def report(examples: Sequence[Example], scores: Sequence[float], threshold: float, model: str) -> dict[str, Any]:
    y = np.array([e.label for e in examples], dtype=np.int_)
    s = np.asarray(scores, dtype=np.float64)
    langs = np.array([e.lang for e in examples])
    sets = np.array([e.dataset for e in examples])
    out: dict[str, Any] = {
        "model": model,
        "n": {lang: int((langs == lang).sum()) for lang in sorted(set(langs))},
        "n_by_dataset": {d: int((sets == d).sum()) for d in sorted(set(sets))},
        "positives": {lang: int(y[langs == lang].sum()) for lang in sorted(set(langs))},
        "auc": {
            "overall": _auc(y, s),
            "by_lang": {lang: _auc(y[langs == lang], s[langs == lang]) for lang in sorted(set(langs))},
            "by_dataset": {d: _auc(y[sets == d], s[sets == d]) for d in sorted(set(sets))},
        },
        "operating_point": _at(y, s, threshold),
        "operating_point_by_lang": {
            lang: _at(y[langs == lang], s[langs == lang], threshold) for lang in sorted(set(langs))
        },
        "operating_point_by_dataset": {d: _at(y[sets == d], s[sets == d], threshold) for d in sorted(set(sets))},
        "precision_at_recall_0.8": _precision_at_recall(y, s, 0.8),
        "recall_at_precision_0.5": _recall_at_precision(y, s, 0.5),
    }
    return out


def score_rules(texts: Iterable[str], progress: Callable[[int], None] | None = None) -> list[float]:
    from bastion.threats.intent import score_text

    out = []
    for t in texts:
        out.append(score_text(t).probability)
        if progress:
            progress(1)
    return out


def score_cv(
    examples: Sequence[Example],
    folds: int,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    **params: Any,
) -> list[float]:
    """Out-of-fold probabilities of the n-gram + cue model (``params`` go to
    :class:`~bastion.threats.model.ThreatModel`). Outer folds are stratified by dataset and label; each fold's
    model is fitted - calibration included, on inner folds of the training part only - without seeing the
    fold it scores. Hashing is stateless, so the texts are featurized once and the matrix sliced."""
    from bastion.threats.model import featurize

    _check_folds(folds)  # before the featurizing, so a bad --cv fails at once
    X = featurize([e.text for e in examples], int(params.get("n_bits", 18)))
    return score_cv_features(examples, X, folds, seed, progress, **params)


def _check_folds(folds: int) -> None:
    if folds < 2:
        raise InputError("--cv needs at least 2 folds")


def score_cv_features(
    examples: Sequence[Example],
    X: Any,
    folds: int,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    **params: Any,
) -> list[float]:
    """:func:`score_cv` on a given feature matrix (one row per example), e.g. :func:`featurize`'s with more
    columns beside it."""
    from sklearn.model_selection import StratifiedKFold

    from bastion.threats.model import ThreatModel

    _check_folds(folds)
    y = np.array([e.label for e in examples], dtype=np.int_)
    strata = np.array([f"{e.dataset}:{e.label}" for e in examples])
    oof = np.zeros(len(examples))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), strata):
        model = ThreatModel(**params).fit_features(X[train], y[train], strata=list(strata[train]))
        oof[test] = model.proba_from_decision(model.decision_from_features(X[test]))
        if progress:
            progress(len(test))
    return [float(v) for v in oof]
