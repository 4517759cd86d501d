"""The ``propaganda`` detector: the calibrated probability that a post is terrorist propaganda, and the
``reporting`` (true-purpose) signal that tells journalism, condemnation and counter-speech from endorsement.

Why two signals: the EU terrorist-content regulation exempts material disseminated for journalistic,
educational or counter-speech purposes, and news about an attack shares most of its words with the attacker's
own announcement. The default policy removes only when ``propaganda`` is high AND ``reporting`` is low, and
sends propaganda-like reporting to people instead.

Both come from one model file (``bastion.text.model``); the detector also reports the post's language and
the reporting cues it found (attribution, quotation, condemnation, argument) as spans, so a reviewer sees why.
Later detectors reuse the work: ``signals["propaganda"].details["lang"]`` holds the language.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from bastion.detector import Detector, PostContext
from bastion.settings import Settings
from bastion.signals import Signal, Span
from bastion.text.lang import detect_languages
from bastion.text.model import TextModel
from bastion.text.normalize import normalize

__all__ = ["REPORTING_CUES", "PropagandaDetector", "reporting_cues"]

log = logging.getLogger(__name__)

#: Surface cues of reporting or arguing against, for the explanation (the score itself is learned).
REPORTING_CUES: dict[str, re.Pattern[str]] = {
    "attribution": re.compile(
        r"\b(?:according to|said|says|told|reported|reports|reportedly|officials?|spokes(?:man|woman|person)|"
        r"police|authorities|ministry|claimed responsibility|via|breaking|update|reuters|afp|ap|bbc|cnn)\b"
        r"|(?:عاجل|قال|قالت|أفاد|افاد|بحسب|وفق|مصادر|ذكرت|أعلنت|اعلنت|مراسل)", re.I),
    "quotation": re.compile(r"[\"“”«»]|\bquote\b|\bwrote\b"),
    "condemnation": re.compile(
        r"\b(?:condemn\w*|terrorists?|terrorism|cowardly|victims?|pray(?:ing)? for|solidarity|atrocit\w+|"
        r"massacre|murder\w*|jesuischarlie|not in my name|fuck ?isis)\b"
        r"|(?:ندين|يدين|إرهاب|ارهاب|الإرهاب|جريمة|ضحايا|داعش)", re.I),
    "counter_speech": re.compile(
        r"\b(?:you(?:'re| are) wrong|that's not|this is not|not islam\w*|has nothing to do with|stop spreading|"
        r"un-?islamic|hate speech|how dare|shame on)\b", re.I),
}


def reporting_cues(text: str, limit: int = 10) -> list[Span]:
    spans: list[Span] = []
    for label, pat in REPORTING_CUES.items():
        for m in pat.finditer(text):
            spans.append(Span(m.start(), m.end(), label, m.group(0)))
            if len(spans) >= limit:
                return sorted(spans, key=lambda s: s.start)
    return sorted(spans, key=lambda s: s.start)


class PropagandaDetector(Detector):
    name: ClassVar[str] = "propaganda"
    signals: ClassVar[tuple[str, ...]] = ("propaganda", "reporting", "propaganda_shadow", "reporting_shadow")
    pure: ClassVar[bool] = True

    @classmethod
    def from_settings(cls, settings: Settings, options: Mapping[str, Any]) -> PropagandaDetector:
        """Without a ``model`` option, the model registry of the run's store decides: its live model (else
        the shipped one) and its shadow model, if any (:mod:`bastion.text.registry`)."""
        opts = dict(options)
        if "model" not in opts or "shadow_model" not in opts:
            from bastion.store.db import resolve_url
            from bastion.text.registry import live_and_shadow

            live, shadow = live_and_shadow(resolve_url(settings.db_url))
            if "model" not in opts and live is not None:
                opts["model"] = str(live)
            if "shadow_model" not in opts and shadow is not None:
                opts["shadow_model"] = str(shadow)
        return cls(**opts)

    def __init__(self, *, model: str = "default", language: bool = True, cues: bool = True,
                 cue_threshold: float = 0.3, shadow_model: str | None = None) -> None:
        self.model_path = model
        self.shadow_path = shadow_model
        self._shadow: TextModel | None = None
        self.language = language
        self.cues = cues
        # cue spans explain the reporting signal where a decision can hinge on it; below this propaganda
        # probability no rule looks at reporting, so the regex pass is skipped (it costs as much as scoring)
        self.cue_threshold = cue_threshold
        self._model: TextModel | None = None
        self.version = "unloaded"

    @property
    def model(self) -> TextModel:
        """The model, loaded on first use (constructing the detector stays cheap)."""
        if self._model is None:
            self._model = TextModel.load(self.model_path)
            self.version = self._model.version
        return self._model

    @property
    def shadow(self) -> TextModel | None:
        if self._shadow is None and self.shadow_path:
            self._shadow = TextModel.load(self.shadow_path)
        return self._shadow

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        if not batch:
            return []
        model = self.model
        texts = [ctx.post.text for ctx in batch]
        norms = [ctx.view(normalize) for ctx in batch]
        shadow = self.shadow
        if shadow is None:
            prop, rep = model.score_normalized(norms)
        else:  # scored next to the live model, on the same features; recorded, never read by a rule
            (prop, rep), (s_prop, s_rep) = model.score_normalized_with([shadow], norms)
        langs: list[str | None] = [ctx.post.lang for ctx in batch]
        if self.language:
            missing = [i for i, lang in enumerate(langs) if not lang]
            if missing:
                found = detect_languages([texts[i] for i in missing])
                for i, lang in zip(missing, found, strict=True):
                    langs[i] = lang
        has_reporting = model.reporting is not None
        out: list[list[Signal]] = []
        for i, ctx in enumerate(batch):
            details: dict[str, Any] = {"model_version": model.version}
            if langs[i]:
                details["lang"] = langs[i]
            if norms[i].is_retweet:
                details["retweet"] = True
            p_sig = Signal("propaganda", round(float(prop[i]), 6), self.name, model.version, details=details)
            if has_reporting:
                explain = self.cues and prop[i] >= self.cue_threshold
                spans = tuple(reporting_cues(ctx.post.text)) if explain else ()
                labels = tuple(sorted({s.label for s in spans}))
                r_sig = Signal("reporting", round(float(rep[i]), 6), self.name, model.version, labels=labels,
                               spans=spans, details={"model_version": model.version})
            else:
                r_sig = Signal.missing("reporting", self.name, model.version, "model has no reporting head")
            sigs: list[Signal] = [p_sig, r_sig]
            if shadow is not None:  # its own signals, so every decision stores its scores; no rule reads them
                shadow_details = {"model_version": shadow.version}
                sigs.append(Signal("propaganda_shadow", round(float(s_prop[i]), 6), self.name, shadow.version,
                                    details=shadow_details))
                if shadow.reporting is not None:
                    sigs.append(Signal("reporting_shadow", round(float(s_rep[i]), 6), self.name,
                                        shadow.version, details=shadow_details))
            out.append(sigs)
        return out

    def get_params(self) -> Mapping[str, Any]:
        return {"model": self.model_path, "language": self.language, "cues": self.cues,
                "cue_threshold": self.cue_threshold, "shadow_model": self.shadow_path}
