"""The text model: hashed features, a propaganda head and a true-purpose (reporting) head.

Why linear heads over hashed n-grams: they score tens of thousands of posts a second on one core, load in
milliseconds and explain themselves (each n-gram's weight). The file is a NumPy ``.npz`` holding only plain
arrays (weights as float16, which costs nothing measurable in ranking) and the configuration as a JSON string;
it is read with ``allow_pickle=False``, so loading a model file can never run code.

* ``propaganda``: P(pro-IS propaganda | text), Platt-calibrated on out-of-fold scores of the training data
  (so the probability is calibrated to that data's base rate, not a platform's - see the model card).
* ``reporting``: how much the text reads as reporting, condemning or arguing against (news, crisis posts,
  counter-speech) rather than endorsing; trained only on texts about terrorism, balanced, so 0.5 is the
  boundary between the two readings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bastion.errors import DependencyError
from bastion.text.features import FeatureConfig, Featurizer, HashedBatch
from bastion.text.normalize import NormalizedText, normalize

__all__ = ["DEFAULT_MODEL", "Head", "TextModel", "default_model_path"]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "propaganda-default.npz"
FORMAT = "bastion-text-model/1"
_BATCH = 1024  # posts per feature batch: small batches keep the hash arrays in cache


def default_model_path() -> Path:
    return Path(str(resources.files("bastion.text").joinpath("models", DEFAULT_MODEL)))


@dataclass(slots=True)
class Head:
    """A linear scorer: ``sigmoid(a * (w.x + b) + c)``; ``a``, ``c`` are the Platt calibration."""

    weights: npt.NDArray[np.float32]
    bias: float
    platt_a: float = 1.0
    platt_c: float = 0.0

    def decision(self, batch: HashedBatch) -> npt.NDArray[np.float64]:
        return batch.scores(self.weights) + self.bias

    def proba(self, decision: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = np.clip(self.platt_a * decision + self.platt_c, -50.0, 50.0)
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(slots=True)
class TextModel:
    config: FeatureConfig
    propaganda: Head
    reporting: Head | None = None
    version: str = "dev"
    meta: dict[str, Any] = field(default_factory=dict)
    _featurizer: Featurizer | None = None

    @property
    def featurizer(self) -> Featurizer:
        if self._featurizer is None:
            self._featurizer = Featurizer(self.config)
        return self._featurizer

    # --- scoring --------------------------------------------------------------------------------------
    def score_normalized(self, norms: Sequence[NormalizedText]) -> tuple[npt.NDArray[np.float64],
                                                                       npt.NDArray[np.float64]]:
        """(propaganda probability, reporting probability) per post; reporting is 0 without its head."""
        return self.score_normalized_with((), norms)[0]

    def score_normalized_with(self, others: Sequence[TextModel], norms: Sequence[NormalizedText]
                              ) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
        """This model's scores and each of ``others``' (a shadow model), featurising each chunk once for every
        model with the same feature configuration (a fine-tuned model keeps its base's): scoring a second
        model then costs its two dot products, not a second pass over the text."""
        models = [self, *others]
        n = len(norms)
        out = [(np.zeros(n), np.zeros(n)) for _ in models]
        for start in range(0, n, _BATCH):
            chunk = norms[start:start + _BATCH]
            own = self.featurizer.transform_normalized(chunk)
            for m, (prop, rep) in zip(models, out, strict=True):
                batch = own if m.config == self.config else m.featurizer.transform_normalized(chunk)
                prop[start:start + len(chunk)] = m.propaganda.proba(m.propaganda.decision(batch))
                if m.reporting is not None:
                    rep[start:start + len(chunk)] = m.reporting.proba(m.reporting.decision(batch))
        return out

    def score(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        return self.score_normalized([normalize(t) for t in texts])

    def decision(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Uncalibrated propaganda scores (for ranking metrics)."""
        out = np.zeros(len(texts))
        for start in range(0, len(texts), _BATCH):
            chunk = [normalize(t) for t in texts[start:start + _BATCH]]
            out[start:start + len(chunk)] = self.propaganda.decision(
                self.featurizer.transform_normalized(chunk))
        return out

    # --- persistence ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_suffix(".npz")
        p.parent.mkdir(parents=True, exist_ok=True)
        header: dict[str, Any] = {
            "format": FORMAT, "version": self.version, "features": self.config.to_json(), "meta": self.meta,
            "propaganda": {"bias": self.propaganda.bias, "platt_a": self.propaganda.platt_a,
                           "platt_c": self.propaganda.platt_c},
        }
        arrays: dict[str, npt.NDArray[Any]] = {"propaganda_w": self.propaganda.weights.astype(np.float16)}
        if self.reporting is not None:
            header["reporting"] = {"bias": self.reporting.bias, "platt_a": self.reporting.platt_a,
                                   "platt_c": self.reporting.platt_c}
            arrays["reporting_w"] = self.reporting.weights.astype(np.float16)
        arrays["header"] = np.array(json.dumps(header, sort_keys=True))
        with p.open("wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        return p

    @classmethod
    def load(cls, path: str | Path | None = None) -> TextModel:
        """Load a model file; ``None`` or ``"default"`` loads the model shipped in the package."""
        p = default_model_path() if path in (None, "default") else Path(str(path))
        try:
            with np.load(p, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if header.get("format") != FORMAT:
                    raise DependencyError(f"{p}: not a {FORMAT} file")
                prop_w = data["propaganda_w"].astype(np.float32)
                rep_w = data["reporting_w"].astype(np.float32) if "reporting_w" in data else None
        except (OSError, KeyError, ValueError) as exc:
            raise DependencyError(f"cannot load text model {p}: {exc}") from exc
        ph = header["propaganda"]
        propaganda = Head(prop_w, float(ph["bias"]), float(ph["platt_a"]), float(ph["platt_c"]))
        reporting = None
        if rep_w is not None:
            rh = header["reporting"]
            reporting = Head(rep_w, float(rh["bias"]), float(rh["platt_a"]), float(rh["platt_c"]))
        log.debug("loaded text model %s version %s", p.name, header.get("version"))
        return cls(FeatureConfig.from_json(header["features"]), propaganda, reporting,
                   version=str(header.get("version", "unknown")), meta=dict(header.get("meta", {})))
