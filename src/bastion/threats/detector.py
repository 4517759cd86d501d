"""The threat detector: is a post a threat of violence, against whom, and how serious is it?

Emits two signals per post:

* ``threat`` - the probability that the post threatens or calls for violence (cue layer, or a trained model
  when one is configured), with the cue spans and labels such as ``threat:explicit`` or
  ``mitigation:reporting``;
* ``threat_severity`` - 0..1 with ``details`` ``{"level", "assets", "extraction", "factors"}`` and spans
  for target / place / actor / time / method.

It runs after the propaganda, account and campaign detectors where those are configured, and reads their
signals (``propaganda``, ``account_risk``, ``campaign``) as context for severity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from bastion.pipeline.detector import Detector, PostContext
from bastion.signals import Signal
from bastion.threats.assets import AssetRegistry, load
from bastion.threats.extraction import extract
from bastion.threats.intent import THREAT_CUES, score_text
from bastion.threats.severity import SeverityModel

log = logging.getLogger(__name__)

VERSION = "threat-cues-2"
CONTEXT_SIGNALS = ("propaganda", "account_risk", "campaign")


def _language(ctx: PostContext) -> str:
    if ctx.post.lang:
        return ctx.post.lang
    try:
        from bastion.text.lang import detect_language
    except ImportError:  # pragma: no cover - the text capability is part of the package
        return "und"
    return detect_language(ctx.post.text)


class ThreatDetector(Detector):
    name: ClassVar[str] = "threat"
    signals: ClassVar[tuple[str, ...]] = ("threat", "threat_severity")

    def __init__(self, *, assets_path: str | None = None, model: str = "default",
                 weights: Mapping[str, float] | None = None,
                 severity_weights: Mapping[str, float] | None = None,
                 severity_levels: Mapping[str, float] | None = None,
                 registry: AssetRegistry | None = None) -> None:
        self.assets_path = assets_path
        self.model_path = model
        self.weights = dict(weights or {})
        self.severity = SeverityModel(severity_weights, severity_levels)
        self.registry = registry if registry is not None else load(assets_path)
        self._model: Any = None
        if model not in ("", "default", "rules"):
            from bastion.threats.model import ThreatModel

            self._model = ThreatModel.load(model)
        self.version = VERSION if self._model is None else f"{VERSION}+model"

    def get_params(self) -> Mapping[str, Any]:
        return {"assets_path": self.assets_path, "model": self.model_path, "weights": self.weights,
                "severity_weights": dict(self.severity.weights),
                "severity_levels": dict(self.severity.levels)}

    def _places(self, asset_ids: Sequence[str]) -> list[dict[str, str]]:
        out = []
        for a in asset_ids:
            asset = self.registry.get(a)
            if asset is not None and asset.kind == "office":
                out.append({"id": asset.id, "city": asset.city, "country": asset.country})
        return out

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        model_probs = None
        if self._model is not None and batch:
            model_probs = self._model.predict_proba([c.post.text for c in batch])
        out: list[list[Signal]] = []
        for i, ctx in enumerate(batch):
            try:
                out.append(self._one(ctx, None if model_probs is None else float(model_probs[i])))
            except Exception as exc:  # one bad post degrades its own signals, never the batch
                log.exception("threat detector failed on post %s", ctx.post.id)
                reason = f"{type(exc).__name__}: {exc}"
                out.append([Signal.missing(n, self.name, self.version, reason) for n in self.signals])
        return out

    def _one(self, ctx: PostContext, model_prob: float | None) -> list[Signal]:
        text = ctx.post.text
        intent = score_text(text, self.weights)
        ext = extract(text, intent.folded, intent.offsets, self.registry)
        if ext.assets and THREAT_CUES.intersection(intent.features):
            # a threat cue and a protected target in one post: rescore with the "targeted" feature
            intent = score_text(text, self.weights, {"targeted": 1.0})
        prob = intent.probability if model_prob is None else model_prob
        context = {n: ctx.score(n) for n in CONTEXT_SIGNALS if n in ctx.signals}
        sev = self.severity.assess(prob, intent, ext, context)
        lang = _language(ctx)
        threat = Signal(
            name="threat", value=prob, detector=self.name, version=self.version, labels=intent.labels,
            spans=intent.spans,
            details={"kind": intent.kind, "mitigations": list(intent.mitigations), "lang": lang,
                     "reporting": "reporting" in intent.mitigations,
                     "contributions": {k: round(v, 3) for k, v in intent.contributions.items()}})
        severity = Signal(
            name="threat_severity", value=sev.score, detector=self.name, version=self.version,
            labels=(f"severity:{sev.level}", *(f"asset:{a}" for a in ext.assets)), spans=ext.spans,
            details={"level": sev.level, "assets": list(ext.assets), "extraction": ext.to_json(),
                     "asset_places": self._places(ext.assets),
                     "factors": {k: round(v, 4) for k, v in sev.factors.items()},
                     "context": {k: round(v, 4) for k, v in context.items()}})
        return [threat, severity]
