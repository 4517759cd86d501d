"""Language identification per post, offline.

Why two paths: most posts are settled by their script alone - Arabic script is Arabic unless Persian or Urdu
letters show, Cyrillic is Russian, and so on - and counting scripts costs microseconds. Only Latin-script text
needs a statistical model; for it we use lingua-language-detector, whose n-gram models ship inside the wheel
(nothing is downloaded at run time), restricted to the handful of Latin-script languages the platform sees, in
low-accuracy mode (fast, good enough for a routing hint). The detector is built once, lazily, per process.

Results are ISO 639-1 codes; ``"und"`` when undetermined (too little text, emoji only).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["LATIN_LANGUAGES", "detect_language", "detect_languages", "script_of"]

log = logging.getLogger(__name__)

#: Latin-script languages the statistical path chooses among (ISO 639-1).
LATIN_LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it", "nl", "tr", "id")

_PERSIAN_ONLY = frozenset("پچژگکی")  # letters Arabic does not use (ی, ک: Persian forms of ya, kaf)
_URDU_ONLY = frozenset("ٹڈڑںھےۓ")

_detector: Any = None
_lock = threading.Lock()
#: lingua's batch call runs on a pool of threads that a forked child does not have (it would wait for them
#: forever), so in a forked process - a scan's detection worker - batches are detected one text at a time.
_forked = False


def _after_fork() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("latin", re.compile(r"[A-Za-z\u00C0-\u024F]")),
    ("arabic", re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")),
    ("cyrillic", re.compile(r"[\u0400-\u052F]")),
    ("hebrew", re.compile(r"[\u0590-\u05FF]")),
    ("cjk", re.compile(r"[\u3040-\u9FFF\uAC00-\uD7AF]")),
)


def script_of(text: str) -> str:
    """The dominant script among the letters of ``text``: latin, arabic, cyrillic, hebrew, cjk, other,
    or none."""
    if text.isascii():
        return "latin" if any(c.isalpha() for c in text) else "none"
    counts = {name: len(pat.findall(text)) for name, pat in _SCRIPTS}
    best = max(counts, key=lambda k: counts[k])
    if counts[best]:
        return best
    return "other" if any(c.isalpha() for c in text) else "none"


def _lingua() -> Any:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper()))
                         for c in LATIN_LANGUAGES]
                _detector = (LanguageDetectorBuilder.from_languages(*langs)
                             .with_low_accuracy_mode().build())
                log.debug("lingua detector built for %d languages", len(langs))
    return _detector


def _strip_noise(text: str) -> str:
    """Drop URLs, mentions and hashtag marks so they do not vote for English."""
    words = [w for w in text.split() if not w.startswith(("http", "@", "www.")) and w != "RT"]
    return " ".join(w.lstrip("#") for w in words)


#: Frequent English function words: a post with several of them is English without asking lingua (which
#: costs ~200 µs a post); lingua decides the rest of the Latin-script posts.
_EN_FUNCTION_WORDS = frozenset({
    "the", "and", "to", "of", "in", "is", "for", "on", "that", "with", "you", "this", "it", "are", "be",
    "was", "at", "my", "we", "they", "have", "not", "from", "by", "will", "i", "me", "your", "our", "what",
    "when", "just", "all", "so", "but",
})


def _looks_english(clean: str) -> bool:
    words = clean.lower().split()
    if len(words) < 4:
        return False
    hits = sum(w in _EN_FUNCTION_WORDS for w in words)
    return hits >= 2 and hits * 5 >= len(words)


def _by_script(text: str) -> str | None:
    script = script_of(text)
    if script == "arabic":
        letters = set(text)
        if letters & _URDU_ONLY:
            return "ur"
        if letters & _PERSIAN_ONLY:
            return "fa"
        return "ar"
    return {"cyrillic": "ru", "hebrew": "he", "cjk": "zh", "none": "und", "other": "und"}.get(script)


def detect_language(text: str) -> str:
    """ISO 639-1 code of the post's language, or ``"und"``."""
    clean = _strip_noise(text)
    fast = _by_script(clean)
    if fast is not None:
        return fast
    if sum(ch.isalpha() for ch in clean) < 3:
        return "und"
    if _looks_english(clean):
        return "en"
    lang = _lingua().detect_language_of(clean)
    return "und" if lang is None else str(lang.iso_code_639_1.name).lower()


def detect_languages(texts: Sequence[str]) -> list[str]:
    """:func:`detect_language` for a batch; Latin-script posts go to lingua in one call."""
    out: list[str | None] = []
    pending: list[int] = []
    cleaned: list[str] = []
    for i, text in enumerate(texts):
        clean = _strip_noise(text)
        fast = _by_script(clean)
        if fast is None and sum(ch.isalpha() for ch in clean) < 3:
            fast = "und"
        if fast is None and _looks_english(clean):
            fast = "en"
        out.append(fast)
        if fast is None:
            pending.append(i)
            cleaned.append(clean)
    if pending:
        lingua = _lingua()
        results = [lingua.detect_language_of(c) for c in cleaned] if _forked else \
            lingua.detect_languages_in_parallel_of(cleaned)
        for i, lang in zip(pending, results, strict=True):
            out[i] = "und" if lang is None else str(lang.iso_code_639_1.name).lower()
    return [o or "und" for o in out]
