"""An optional trained layer: a linear model over hashed word and character n-grams plus the cue features.

Why optional: the labelled threat corpora at hand are GPL or of unknown licence, so no model trained on them
ships; the default detector is the cue layer alone. A deployment with labelled data of its own trains this
model with ``bastion train threat`` and points the detector at the file (detector option ``model``). It is
saved as ``.npz`` (arrays only, ``allow_pickle=False``) with a JSON header - never pickle. Hashing
(scikit-learn's MurmurHash3 ``HashingVectorizer``) keeps the file small and the features stable across runs,
and since hashing learns nothing from the data, a matrix hashed once may be sliced into folds without leaking.

Probabilities: the logistic regression is fitted with balanced class weights (threats are 1-2% of posts), which
centres its logit at a 50% base rate. With ``calibrate`` (the default) a Platt scaling is fitted on inner
out-of-fold decision values, so that ``predict_proba`` is a probability at the *training data's* base rate and
0.5 means "more likely a threat than not" there; without it a fixed prior shift of -3 logits is used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.errors import DependencyError, InputError
from bastion.threats.intent import DEFAULT_WEIGHTS, score_text

log = logging.getLogger(__name__)

FORMAT = "bastion-threat-model/2"
RULE_FEATURES = tuple(k for k in DEFAULT_WEIGHTS if k != "bias")
UNCALIBRATED_SHIFT = -3.0


def _vectorizers(n_bits: int) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    words = HashingVectorizer(n_features=2 ** n_bits, ngram_range=(1, 2), alternate_sign=False, norm="l2")
    chars = HashingVectorizer(n_features=2 ** n_bits, analyzer="char_wb", ngram_range=(2, 5),
                              alternate_sign=False, norm="l2")
    return words, chars


def _rule_matrix(texts: Sequence[str]) -> NDArray[np.float64]:
    """The cue layer's features and its logit (scaled) for each text."""
    out = np.zeros((len(texts), len(RULE_FEATURES) + 1))
    for i, t in enumerate(texts):
        r = score_text(t)
        out[i, :-1] = [r.features.get(k, 0.0) for k in RULE_FEATURES]
        out[i, -1] = r.logit / 5.0
    return out


def featurize(texts: Sequence[str], n_bits: int, rules: NDArray[np.float64] | None = None) -> Any:
    """Sparse matrix: hashed word 1-2-grams, hashed char 2-5-grams (within words) and the cue features."""
    from scipy.sparse import csr_matrix, hstack

    from bastion.text.normalize import fold

    words, chars = _vectorizers(n_bits)
    folded = [fold(t.replace("<LF>", "\n")) for t in texts]
    r = _rule_matrix(texts) if rules is None else rules
    return hstack([words.transform(folded), chars.transform(folded), csr_matrix(r)]).tocsr()


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))), dtype=np.float64)


class ThreatModel:
    """Logistic regression over hashed n-grams and cue features, optionally Platt-calibrated."""

    def __init__(self, n_bits: int = 18, C: float = 2.0, class_weight: str | None = "balanced",
                 calibrate: bool = True, calib_folds: int = 3, seed: int = 0) -> None:
        self.n_bits = n_bits
        self.C = C
        self.class_weight = class_weight
        self.calibrate = calibrate
        self.calib_folds = calib_folds
        self.seed = seed
        self.coef_: NDArray[np.float64] | None = None
        self.intercept_: float = 0.0
        #: probability = sigmoid(scale * decision + offset)
        self.calibration_: tuple[float, float] = (1.0, UNCALIBRATED_SHIFT)

    def get_params(self) -> dict[str, Any]:
        return {"n_bits": self.n_bits, "C": self.C, "class_weight": self.class_weight,
                "calibrate": self.calibrate, "calib_folds": self.calib_folds, "seed": self.seed}

    def _lr(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000)

    def fit(self, texts: Sequence[str], y: Sequence[int], *, rules: NDArray[np.float64] | None = None,
            strata: Sequence[str] | None = None) -> ThreatModel:
        return self.fit_features(featurize(texts, self.n_bits, rules), y, strata=strata)

    def fit_features(self, X: Any, y: Sequence[int], *, strata: Sequence[str] | None = None) -> ThreatModel:
        """Fit on an already featurized matrix (:func:`featurize` with this model's ``n_bits``). ``strata``
        (e.g. ``dataset:label``) stratifies the inner calibration folds; the label alone otherwise."""
        yy = np.asarray(y, dtype=np.int_)
        if yy.min() == yy.max():
            raise InputError("threat model training data needs both threats and non-threats")
        lr = self._lr().fit(X, yy)
        self.coef_ = lr.coef_.ravel().astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        self.calibration_ = (1.0, UNCALIBRATED_SHIFT)
        if self.calibrate:
            self.calibration_ = self._platt(X, yy, None if strata is None else np.asarray(strata))
        return self

    def _platt(self, X: Any, y: NDArray[np.int_], strata: NDArray[np.str_] | None) -> tuple[float, float]:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        folds = max(2, min(self.calib_folds, int(y.sum()), int((1 - y).sum())))
        s = strata if strata is not None else y
        # strata too small to split fall back to the label
        if np.unique(s, return_counts=True)[1].min() < folds:
            s = y
        oof = np.zeros(len(y))
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(np.zeros(len(y)), s):
            m = self._lr().fit(X[tr], y[tr])
            oof[te] = m.decision_function(X[te])
        platt = LogisticRegression(C=1e4, max_iter=1000).fit(oof.reshape(-1, 1), y)
        return float(platt.coef_[0, 0]), float(platt.intercept_[0])

    def decision_function(self, texts: Sequence[str], *, rules: NDArray[np.float64] | None = None
                          ) -> NDArray[np.float64]:
        return self.decision_from_features(featurize(texts, self.n_bits, rules))

    def decision_from_features(self, X: Any) -> NDArray[np.float64]:
        if self.coef_ is None:
            raise DependencyError("threat model is not fitted")
        return np.asarray(X @ self.coef_ + self.intercept_, dtype=np.float64)

    def proba_from_decision(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        a, b = self.calibration_
        return _sigmoid(a * z + b)

    def predict_proba(self, texts: Sequence[str], *, rules: NDArray[np.float64] | None = None
                      ) -> NDArray[np.float64]:
        return self.proba_from_decision(self.decision_function(texts, rules=rules))

    def save(self, path: Path) -> None:
        if self.coef_ is None:
            raise DependencyError("threat model is not fitted")
        header = json.dumps({"format": FORMAT, "params": self.get_params(), "rule_features": RULE_FEATURES})
        with path.open("wb") as fh:
            np.savez_compressed(fh, header=np.array(header), coef=self.coef_.astype(np.float32),
                                intercept=np.array([self.intercept_]),
                                calibration=np.array(self.calibration_, dtype=np.float64))

    @classmethod
    def load(cls, path: str | Path) -> ThreatModel:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"threat model {p} does not exist")
        with np.load(p, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            if header.get("format") != FORMAT or list(header.get("rule_features", [])) != list(RULE_FEATURES):
                raise DependencyError(f"{p}: not a threat model of this version ({header.get('format')}); "
                                      "retrain it with `bastion train threat`")
            model = cls(**header["params"])
            model.coef_ = data["coef"].astype(np.float64)
            model.intercept_ = float(data["intercept"][0])
            cal = data["calibration"]
            model.calibration_ = (float(cal[0]), float(cal[1]))
        return model
