"""The ``lexicon`` detector: names of terrorist organisations, outlets, magazines, slogans and shout-out
markers, with the spans that matched.

Why it exists next to the trained model: it explains (the reviewer sees which names matched and where), it
reacts the day a reviewer adds a new outlet name, and it covers spellings the model never saw. It is weak by
design - journalists name these organisations constantly - so the default policy only sends a hit to review.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from bastion.detector import Detector, PostContext
from bastion.signals import Signal, Span
from bastion.text.lexicon import Lexicon
from bastion.text.normalize import fold_with_offsets

__all__ = ["LexiconDetector"]

log = logging.getLogger(__name__)


class LexiconDetector(Detector):
    name: ClassVar[str] = "lexicon"
    signals: ClassVar[tuple[str, ...]] = ("lexicon",)
    pure: ClassVar[bool] = True

    def __init__(self, *, path: str | None = None, max_spans: int = 20) -> None:
        self.path = path
        self.max_spans = max_spans
        self.lexicon = Lexicon.load(path)
        self.version = f"lexicon-{self.lexicon.version}"

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        out: list[list[Signal]] = []
        for ctx in batch:
            hits = self.lexicon.match(ctx.post.text, ctx.view(fold_with_offsets))
            if not hits:
                out.append([Signal("lexicon", 0.0, self.name, self.version)])
                continue
            text = ctx.post.text
            spans = tuple(Span(h.start, h.end, h.entry.category, text[h.start:h.end])
                          for h in hits[: self.max_spans])
            labels = tuple(sorted({h.entry.category for h in hits}))
            details: dict[str, Any] = {"terms": sorted({h.entry.term for h in hits}), "hits": len(hits),
                                       "lexicon_version": self.lexicon.version}
            out.append([Signal("lexicon", round(Lexicon.score(hits), 6), self.name, self.version, labels=labels,
                               spans=spans, details=details)])
        return out

    def get_params(self) -> Mapping[str, Any]:
        return {"path": self.path, "max_spans": self.max_spans}
