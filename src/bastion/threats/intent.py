"""Is this post a threat? Cue matches turned into features, and features into a probability.

Why a hand-weighted logistic form: the score must be explainable to a security analyst (each feature's
contribution is shown), its weights must be changeable without retraining, and it must not be fitted on the
non-permissive threat corpora (see ``docs/threats.md``). The features follow the grammar of a threat: a
violent act (verb, weapon), someone who will do it (first person + future or modal; a call on others; a wish),
and someone it is done to (second person, "all of them", a named target) - close together in the text.
Reporting, condemnation, idiom, fiction, past events and negation pull the score down.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bastion.signals import Span
from bastion.text.normalize import fold_with_offsets
from bastion.threats.patterns import CUES, QUOTES, Cue

#: Default feature weights (logit scale). Positive raise the threat probability, negative lower it.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "bias": -4.4,
    "violence": 2.1,
    "violence_more": 0.6,
    "violence_weak": 0.9,  # war, weapons, blood: ranks angry talk above ordinary text, never flags alone
    "long": -0.8,          # long posts collect incidental cues
    "explicit": 2.6,       # first person + future/modal + violent act, close together
    "directed": 1.3,       # violent act aimed at "you"
    "incitement": 2.6,     # imperative, obligation ("should be shot"), call on cells / lone wolves
    "wish": 2.9,           # wishes death or harm ("hope you die", "death to")
    "conditional": 1.0,    # "if ... we will" - with a violent act
    "veiled": 1.8,         # "watch your back", "on his doorstep", "we know where you live"
    "all_of_them": 0.7,    # against a whole group ("kill them all")
    "targeted": 1.2,       # a threat cue and a protected target in the same post (set by the detector)
    "aggression": 1.1,     # insults, anger emoji (up to 1.0 at three cues)
    "exclaim": 0.3,
    "reporting": -1.2,     # per reporting cue, up to two
    "quoted": -1.6,        # quotation marks with a reporting cue
    "condemnation": -2.2,
    "hyperbole": -3.0,
    "fiction": -1.6,
    "past": -1.4,
    "negation": -1.6,
    "laughter": -0.4,      # laughing emoji, "haha", "هههه": often a joke among friends, never cancels a threat
}

#: Features whose presence names the kind of threat, strongest first.
KINDS = ("explicit", "incitement", "veiled", "conditional", "wish", "directed")
THREAT_CUES = frozenset({*KINDS, "violence"})
MITIGATIONS = ("reporting", "condemnation", "hyperbole", "fiction", "past", "negation", "laughter")
_WINDOW = 70  # characters: an intent cue and a violent act further apart than this are not one clause


@dataclass(frozen=True, slots=True)
class Match:
    kind: str
    start: int  # offsets into the folded text
    end: int


@dataclass(frozen=True, slots=True)
class IntentResult:
    """What the cue layer found in one post."""

    probability: float
    logit: float
    features: Mapping[str, float]
    contributions: Mapping[str, float]
    kind: str | None
    mitigations: tuple[str, ...]
    spans: tuple[Span, ...]
    folded: str = ""
    offsets: tuple[int, ...] = field(default=(), repr=False)

    @property
    def labels(self) -> tuple[str, ...]:
        out = [f"threat:{self.kind}"] if self.kind else []
        return (*out, *(f"mitigation:{m}" for m in self.mitigations))


#: A cue written in one script can only match text that has a letter of that script, so each post runs the
#: cues of the scripts it contains (and the script-free ones: emoji, punctuation). Most posts are in one
#: script, which skips a third to two thirds of the patterns. The keys are :attr:`Cue.lang` values.
_SCRIPT_OF_LANG = {"en": "latin", "de": "latin", "ar": "arabic"}
_SCRIPTS = {"latin": re.compile(r"[a-z\u00df-\u00ff]"), "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f]")}
_CUES_BY_SCRIPTS: dict[frozenset[str], tuple[Cue, ...]] = {}


def _cues_for(folded: str) -> tuple[Cue, ...]:
    scripts = frozenset(name for name, rx in _SCRIPTS.items() if rx.search(folded))
    cues = _CUES_BY_SCRIPTS.get(scripts)
    if cues is None:
        cues = tuple(c for c in CUES if (script := _SCRIPT_OF_LANG.get(c.lang)) is None or script in scripts)
        _CUES_BY_SCRIPTS[scripts] = cues
    return cues


def find_cues(folded: str) -> list[Match]:
    out: list[Match] = []
    for cue in _cues_for(folded):
        for m in cue.regex.finditer(folded):
            if m.end() > m.start():
                out.append(Match(cue.kind, m.start(), m.end()))
    return out


def _near(a: list[Match], b: list[Match], window: int, *, a_before_b: bool = False) -> bool:
    for x in a:
        for y in b:
            if a_before_b:
                if x.start <= y.start and y.start - x.end <= window:
                    return True
            elif abs(x.start - y.start) <= window:
                return True
    return False


_ASCII_LETTERS = re.compile(r"[A-Za-z]")
_ASCII_UPPER = re.compile(r"[A-Z]")


def _caps_ratio(text: str) -> float:
    """The share of upper case among the ASCII letters (0 with fewer than 12 of them)."""
    letters = len(_ASCII_LETTERS.findall(text))
    if letters < 12:
        return 0.0
    return len(_ASCII_UPPER.findall(text)) / letters


def features_of(text: str, matches: list[Match], folded: str) -> dict[str, float]:
    by: dict[str, list[Match]] = {}
    for m in matches:
        by.setdefault(m.kind, []).append(m)
    vio = by.get("violence", [])
    f: dict[str, float] = {}
    if vio:
        f["violence"] = 1.0
        if len(vio) > 1:
            f["violence_more"] = min(1.0, (len(vio) - 1) / 2)
    if by.get("violence_weak"):
        f["violence_weak"] = min(1.0, len(by["violence_weak"]) / 2)
    if len(text) > 300:
        f["long"] = min(1.0, (len(text) - 300) / 700)
    if vio and _near(by.get("intent", []), vio, _WINDOW, a_before_b=True):
        f["explicit"] = 1.0
    if vio and (by.get("you_obj") or _near(vio, by.get("you", []), 40)):
        f["directed"] = 1.0
    if by.get("incite"):
        f["incitement"] = 1.0
    if by.get("wish"):
        f["wish"] = 1.0
    if vio and by.get("conditional"):
        f["conditional"] = 1.0
    if by.get("veiled"):
        f["veiled"] = min(2.0, float(len(by["veiled"])))
    if vio and _near(vio, by.get("all", []), 30):
        f["all_of_them"] = 1.0
    if by.get("aggression"):
        f["aggression"] = min(1.0, len(by["aggression"]) / 3)
    if "!!" in text or _caps_ratio(text) > 0.6:
        f["exclaim"] = 1.0
    if by.get("reporting"):
        f["reporting"] = min(2.0, float(len(by["reporting"])))
        if any(q in text for q in QUOTES):
            f["quoted"] = 1.0
    for name in ("condemnation", "hyperbole", "fiction", "past", "negation", "laughter"):
        if by.get(name):
            f[name] = 1.0
    return f


#: Three of the same letter in a row. Every ``str.isalpha`` character is a word character that is neither a
#: digit nor ``_``, so when this finds nothing, :func:`_collapse_runs` would change nothing.
_LETTER_RUN = re.compile(r"([^\W\d_])\1\1")


def _collapse_runs(folded: str, offsets: list[int]) -> tuple[str, list[int]]:
    """Letters stretched for emphasis ("killlll", "ووووو") read as two, keeping the offset map aligned."""
    if _LETTER_RUN.search(folded) is None:  # most posts: nothing to collapse, skip the loop
        return folded, offsets
    return _collapse_loop(folded, offsets)


def _collapse_loop(folded: str, offsets: list[int]) -> tuple[str, list[int]]:
    out: list[str] = []
    offs: list[int] = []
    for ch, off in zip(folded, offsets, strict=True):
        if len(out) >= 2 and ch == out[-1] == out[-2] and ch.isalpha():
            continue
        out.append(ch)
        offs.append(off)
    return "".join(out), offs


_SPACE_RUN = re.compile(r"\s+")


def score_text(text: str, weights: Mapping[str, float] | None = None,
               extra: Mapping[str, float] | None = None) -> IntentResult:
    """Score one text. ``weights`` overrides entries of :data:`DEFAULT_WEIGHTS`; ``extra`` adds features
    known from outside the text (``targeted``)."""
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        w.update(weights)
    folded, offsets = fold_with_offsets(text.replace("<LF>", "\n"))
    folded, offsets = _collapse_runs(folded, offsets)
    matches = find_cues(folded)
    f = features_of(text, matches, folded)
    if extra:
        f.update({k: v for k, v in extra.items() if v})
    contributions = {k: w.get(k, 0.0) * v for k, v in f.items()}
    logit = w["bias"] + sum(contributions.values())
    prob = 1.0 / (1.0 + math.exp(-logit))
    kind = next((k for k in KINDS if f.get(k)), None)
    if kind is None and f.get("violence") and prob >= 0.5:
        kind = "implicit"
    mitigations = tuple(m for m in MITIGATIONS if f.get(m))
    hidden = ("you", "all", "aggression", "violence_weak")
    spans = tuple(_span(text, offsets, m) for m in matches if m.kind not in hidden)
    return IntentResult(probability=prob, logit=logit, features=f, contributions=contributions, kind=kind,
                        mitigations=mitigations, spans=spans, folded=folded, offsets=tuple(offsets))


def _span(text: str, offsets: list[int], m: Match) -> Span:
    start = offsets[m.start] if m.start < len(offsets) else len(text)
    end = offsets[m.end - 1] + 1 if m.end - 1 < len(offsets) else len(text)
    frag = text[start:end]
    # a cue may begin on the punctuation or space that delimits its clause: trim it from the span
    lead = len(frag) - len(frag.lstrip(" \n\t.,;:!?"))
    return Span(start + lead, end, f"cue:{m.kind}", _SPACE_RUN.sub(" ", frag[lead:]))
