"""The threat detector: does a post issue a threat of violence, against whom, and how serious is it?

Three signals per post:

* ``threat`` - the probability that the post *issues* a threat or a call to violence (the stance model's
  ``issue``), with the form (``threat:direct``, ``threat:veiled``, ...) and the stance as labels, and as spans
  the words of violence, the cues of stance around them and every quotation;
* ``threat_stance`` - what the post does with its words of violence: ``details.stance`` is the winning stance
  (issue, report, quote, condemn, negate, joke, narrate, pray, none) and the value is the probability that the
  author issues the threat, given the post is about violence at all. The default policy's threat rules gate
  on it: a news report or a condemnation quoting a threat is not one;
* ``threat_severity`` - 0..1 with ``details`` ``{"level", "assets", "extraction", "factors"}``.

How: :mod:`~bastion.threats.analysis` reads the post (spelling games folded, words tagged, quotations marked);
a cheap gate stops there for posts with no word of violence, veiled-threat phrase, call on others or bounty
(most posts: ``details.gate`` says ``closed``; Arabic written with its short vowels - scripture or verse quoted,
never a post's own words here - says ``scripture``); the rest are scored in one batch by the stance model's linear
heads (:mod:`~bastion.threats.stance`), and only they get targets, places and severity
(:mod:`~bastion.threats.extraction`, :mod:`~bastion.threats.severity`). It reads the earlier detectors'
``propaganda``, ``account_risk`` and ``campaign`` signals as context for severity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any, ClassVar

from bastion.detector import Detector, PostContext
from bastion.settings import Settings
from bastion.signals import Signal, Span
from bastion.text.normalize import fold_with_offsets
from bastion.threats.analysis import Analysis, Analyzer, default_analyzer, vowelled
from bastion.threats.assets import AssetRegistry, load
from bastion.threats.extraction import Extraction, assets_only, extract
from bastion.threats.severity import SeverityModel
from bastion.threats.stance import StanceModel, StanceResult, evidence, features

log = logging.getLogger(__name__)

VERSION = "threat-stance-1"
CONTEXT_SIGNALS = ("propaganda", "account_risk", "campaign")
LETHAL = frozenset({"KILL", "DESTROY", "DEATH", "WEAPON"})
_TAGS = attrgetter("tags")
#: The probability a post that does not pass the gate issues a threat (measured when the model is trained).
UNGATED = 0.001
#: Below this threat probability a post's severity stays near zero whatever its targets (it is scaled by the
#: probability), so only its protected assets are looked up, not every slot.
SEVERITY_FROM = 0.1
_NO_EXTRACTION = Extraction()


class ThreatDetector(Detector):
    name: ClassVar[str] = "threat"
    signals: ClassVar[tuple[str, ...]] = ("threat", "threat_stance", "threat_severity")
    pure: ClassVar[bool] = True

    def __init__(self, *, assets_path: str | None = None, model: str = "default",
                 severity_weights: Mapping[str, float] | None = None,
                 severity_levels: Mapping[str, float] | None = None,
                 registry: AssetRegistry | None = None, analyzer: Analyzer | None = None) -> None:
        self.assets_path = assets_path
        self.model_path = model
        self.severity = SeverityModel(severity_weights, severity_levels)
        self.registry = registry if registry is not None else load(assets_path)
        self.analyzer = analyzer or default_analyzer()
        self.model = StanceModel.default() if model in ("", "default") else StanceModel.load(model)
        self.ungated = float(self.model.meta.get("ungated_issue", UNGATED))
        self.version = f"{VERSION}+{self.model.version}"
        self._closed_signals: dict[str, tuple[Signal, ...]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, options: Mapping[str, Any]) -> ThreatDetector:
        """The run's protected-assets registry (``--assets``, ``BASTION_ASSETS``) unless the options name one."""
        if settings.assets and "assets_path" not in options:
            options = {**options, "assets_path": settings.assets}
        return cls(**options)

    def get_params(self) -> Mapping[str, Any]:
        return {"assets_path": self.assets_path, "model": self.model_path,
                "severity_weights": dict(self.severity.weights), "severity_levels": dict(self.severity.levels)}

    def _places(self, asset_ids: Sequence[str]) -> list[dict[str, str]]:
        out = []
        for a in asset_ids:
            asset = self.registry.get(a)
            if asset is not None and asset.kind == "office":
                out.append({"id": asset.id, "city": asset.city, "country": asset.country})
        return out

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        out: list[list[Signal] | None] = [None] * len(batch)
        todo: list[tuple[int, str, list[int], Analysis]] = []
        for i, ctx in enumerate(batch):
            try:
                if vowelled(ctx.post.text):  # scripture or verse quoted, vowelled: not parsed
                    out[i] = self._closed("scripture")
                    continue
                # the folded text with the offsets spans need: the view the lexicon detector reads too, so in a
                # pipeline it is computed once per post
                folded, offsets = ctx.view(fold_with_offsets)
                an = self.analyzer.analyze(folded, ctx.post.lang, victim=True)
                if self._gate(an, folded):
                    if not an.tokens:  # a protected asset opened the gate: the analyser kept no tokens
                        an = self.analyzer.analyze(folded, ctx.post.lang, full=True)
                    todo.append((i, folded, offsets, an))
                else:
                    out[i] = self._closed()
            except Exception as exc:  # one bad post degrades its own signals, never the batch
                out[i] = self._failed(ctx, exc)
        if todo:
            results = self.model.predict([features(an) for _, _, _, an in todo])
            for (i, folded, offsets, an), res in zip(todo, results, strict=True):
                try:
                    out[i] = self._open(batch[i], folded, offsets, an, res)
                except Exception as exc:
                    out[i] = self._failed(batch[i], exc)
        return [o or [] for o in out]

    def opens(self, folded: str, lang: str | None = None, text: str | None = None) -> bool:
        """Whether :meth:`detect` parses this folded text (of ``text``, when given) or closes its gates on it (for
        evaluations that score the stance model directly, as cross-validation does)."""
        if text is not None and vowelled(text):
            return False
        return self._gate(self.analyzer.analyze(folded, lang, victim=True), folded)

    def _gate(self, an: Analysis, folded: str) -> bool:
        """Worth a parse: a word of violence, a veiled-threat phrase, a call on others or a bounty with someone
        to harm - or a protected asset named in a post that addresses someone, has a part of a veiled threat, or
        calls on others or offers a bounty (the asset is the one to harm)."""
        if an.gated:
            return True
        return (an.addressed or an.victimless) and bool(self.registry.find(folded))

    def _failed(self, ctx: PostContext, exc: Exception) -> list[Signal]:
        log.exception("threat detector failed on post %s", ctx.post.id)
        reason = f"{type(exc).__name__}: {exc}"
        return [Signal.missing(n, self.name, self.version, reason) for n in self.signals]

    def _closed(self, gate: str = "closed") -> list[Signal]:
        """The signals of a post a gate closed on (``closed``: nothing to parse; ``scripture``: a vowelled text):
        the same for every such post (signals are immutable), so built once per gate."""
        signals = self._closed_signals.get(gate)
        if signals is None:
            details = {"gate": gate, "stance": "none"}
            signals = self._closed_signals[gate] = (
                Signal("threat", self.ungated, self.name, self.version, details=details),
                Signal("threat_stance", 0.0, self.name, self.version, labels=("stance:none",), details=details),
                Signal("threat_severity", 0.0, self.name, self.version, labels=("severity:low",),
                       details={"level": "low", "assets": (), "gate": gate}))
        return list(signals)

    def _open(self, ctx: PostContext, folded: str, offsets: Sequence[int], an: Analysis,
              res: StanceResult) -> list[Signal]:
        text = ctx.post.text
        prob = res.threat
        issues = res.stance == "issue" or prob >= 0.5
        form = res.form if issues else None
        # evidence for anything the post does with violence; targets, places and severity for what may be a
        # threat (the rest name only the protected assets they mention, so reports attach to their case).
        wants_extraction = prob >= SEVERITY_FROM
        ext = _NO_EXTRACTION
        spans: tuple[Span, ...] = ()
        hits = None if wants_extraction or res.stance != "none" else self.registry.find(folded)
        if wants_extraction or res.stance != "none" or hits:
            if res.stance != "none":
                spans = tuple(Span(s, e, label, t) for s, e, label, t in evidence(an, offsets, text))
            ext = extract(text, folded, offsets, self.registry) if wants_extraction else \
                assets_only(text, folded, offsets, self.registry, hits)
        context = {n: ctx.score(n) for n in CONTEXT_SIGNALS if n in ctx.signals}
        lethal = not all(map(LETHAL.isdisjoint, map(_TAGS, an.tokens)))
        sev = self.severity.assess(prob, form, ext, context, lethal=lethal)
        stances = {k: round(v, 4) for k, v in res.probabilities.items()}
        common = {"gate": "open", "stance": res.stance, "lang": an.lang}
        threat = Signal(
            name="threat", value=prob, detector=self.name, version=self.version,
            labels=(*((f"threat:{form}",) if form else ()), f"stance:{res.stance}"), spans=spans,
            details={**common, "form": form, "stances": stances,
                     "forms": {k: round(v, 4) for k, v in res.form_probabilities.items()} if form else {},
                     "contributions": dict(res.contributions),
                     "reporting": res.stance in ("report", "quote")})
        stance = Signal(
            name="threat_stance", value=res.issue_given_violence, detector=self.name, version=self.version,
            labels=(f"stance:{res.stance}",), spans=tuple(s for s in spans if not s.label.startswith("harm:")),
            details={**common, "stances": stances})
        severity = Signal(
            name="threat_severity", value=sev.score, detector=self.name, version=self.version,
            labels=(f"severity:{sev.level}", *(f"asset:{a}" for a in ext.assets)), spans=ext.spans,
            details={"level": sev.level, "assets": list(ext.assets), "extraction": ext.to_json(),
                     "asset_places": self._places(ext.assets),
                     "factors": {k: round(v, 4) for k, v in sev.factors.items()},
                     "context": {k: round(v, 4) for k, v in context.items()}, "gate": "open"})
        return [threat, stance, severity]
