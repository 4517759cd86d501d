"""An optional trained layer: a linear model over hashed word and character n-grams plus the cue features.

Why optional: the labelled threat corpora at hand are GPL or of unknown licence, so no model trained on them
ships; the default detector is the cue layer alone. A deployment with labelled data of its own trains this
model with ``bastion train threat`` and points the detector at the file. It is saved as ``.npz`` (arrays
only, ``allow_pickle=False``) with a JSON header - never pickle. Hashing (scikit-learn's MurmurHash3
``HashingVectorizer``) keeps the file small and the features stable across runs.
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

FORMAT = "bastion-threat-model/1"
RULE_FEATURES = tuple(k for k in DEFAULT_WEIGHTS if k != "bias")


def _vectorizers(n_bits: int) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    words = HashingVectorizer(n_features=2 ** n_bits, ngram_range=(1, 2), alternate_sign=False, norm="l2")
    chars = HashingVectorizer(n_features=2 ** n_bits, analyzer="char_wb", ngram_range=(2, 5),
                              alternate_sign=False, norm="l2")
    return words, chars


def _rule_matrix(texts: Sequence[str]) -> NDArray[np.float64]:
    out = np.zeros((len(texts), len(RULE_FEATURES) + 1))
    for i, t in enumerate(texts):
        r = score_text(t)
        out[i, :-1] = [r.features.get(k, 0.0) for k in RULE_FEATURES]
        out[i, -1] = r.logit / 5.0
    return out


def featurize(texts: Sequence[str], n_bits: int, rules: NDArray[np.float64] | None = None) -> Any:
    from scipy.sparse import csr_matrix, hstack

    from bastion.text.normalize import fold

    words, chars = _vectorizers(n_bits)
    folded = [fold(t) for t in texts]
    r = _rule_matrix(texts) if rules is None else rules
    return hstack([words.transform(folded), chars.transform(folded), csr_matrix(r)]).tocsr()


class ThreatModel:
    """Logistic regression over hashed n-grams and cue features (scikit-learn estimator contract)."""

    def __init__(self, n_bits: int = 18, C: float = 2.0) -> None:
        self.n_bits = n_bits
        self.C = C
        self.coef_: NDArray[np.float64] | None = None
        self.intercept_: float = 0.0

    def get_params(self) -> dict[str, Any]:
        return {"n_bits": self.n_bits, "C": self.C}

    def fit(self, texts: Sequence[str], y: Sequence[int], *, rules: NDArray[np.float64] | None = None
            ) -> ThreatModel:
        from sklearn.linear_model import LogisticRegression

        X = featurize(texts, self.n_bits, rules)
        lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000)
        lr.fit(X, np.asarray(y))
        self.coef_ = lr.coef_.ravel().astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        return self

    def decision_function(self, texts: Sequence[str], *, rules: NDArray[np.float64] | None = None
                          ) -> NDArray[np.float64]:
        if self.coef_ is None:
            raise DependencyError("threat model is not fitted")
        X = featurize(texts, self.n_bits, rules)
        return np.asarray(X @ self.coef_ + self.intercept_, dtype=np.float64)

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        # class_weight="balanced" centres the logit at a 50% base rate; shift it back towards the rare-class
        # prior so that 0.5 keeps meaning "more likely a threat than not" on real traffic.
        z = self.decision_function(texts) - 3.0
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def save(self, path: Path) -> None:
        if self.coef_ is None:
            raise DependencyError("threat model is not fitted")
        header = json.dumps({"format": FORMAT, "params": self.get_params(), "rule_features": RULE_FEATURES})
        with path.open("wb") as fh:
            np.savez_compressed(fh, header=np.array(header), coef=self.coef_.astype(np.float32),
                                intercept=np.array([self.intercept_]))

    @classmethod
    def load(cls, path: str | Path) -> ThreatModel:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"threat model {p} does not exist")
        with np.load(p, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            if header.get("format") != FORMAT or list(header.get("rule_features", [])) != list(RULE_FEATURES):
                raise DependencyError(f"{p}: not a threat model of this version ({header.get('format')})")
            model = cls(**header["params"])
            model.coef_ = data["coef"].astype(np.float64)
            model.intercept_ = float(data["intercept"][0])
        return model
