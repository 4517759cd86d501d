"""A versioned lexicon of organisations, outlets, magazines, slogans, "wilayat" names and shout-out markers,
compiled once into an Aho-Corasick automaton.

Why Aho-Corasick: one pass over the text finds every entry, however many there are, in time linear in the
text. Matching runs on folded text (see :func:`bastion.text.normalize.fold_with_offsets`), so ``DABIQ``,
``Dаbiq`` with a Cyrillic ``а`` and Arabic with or without diacritics all hit, and each hit is reported as a
span of the ORIGINAL text for the explanation. Hashtags are also matched on their skeleton (``#AmaqAgency``,
``#Wilayat_Ninawa``), where word boundaries do not exist.

The data file is YAML, one entry per line, reviewable in a pull request; its ``version`` travels with every
signal so a decision can be traced to the lexicon that produced it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from bastion import yamlio
from bastion.errors import ConfigError
from bastion.text.normalize import fold, fold_with_offsets, skeleton

__all__ = ["Entry", "Hit", "Lexicon", "default_lexicon_path"]

_ARABIC_CLITICS = frozenset("وفبلك")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


def default_lexicon_path() -> Path:
    return Path(str(resources.files("bastion.text").joinpath("data", "lexicon.yaml")))


@dataclass(frozen=True, slots=True)
class Entry:
    term: str
    category: str
    lang: str
    weight: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    start: int  # offsets in the original text
    end: int


def _is_arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


def _boundary_ok(text: str, start: int, end: int, arabic: bool) -> bool:
    if end < len(text) and text[end].isalnum():
        return False
    if start == 0 or not text[start - 1].isalnum():
        return True
    # Arabic: a one-letter clitic (and, so, with, for, like) may be attached in front
    return arabic and text[start - 1] in _ARABIC_CLITICS and (start == 1 or not text[start - 2].isalnum())


class Lexicon:
    """A compiled lexicon. Build with :meth:`load` (the shipped file by default) or from a mapping."""

    def __init__(self, data: Mapping[str, Any], source: str = "<mapping>") -> None:
        try:
            self.version = str(data["version"])
            weights = {str(k): float(v) for k, v in dict(data["categories"]).items()}
            raw = list(data["entries"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: lexicon needs version, categories and entries ({exc})") from exc
        self.entries: list[Entry] = []
        self._words = ahocorasick.Automaton()
        self._tags = ahocorasick.Automaton()
        for n, item in enumerate(raw, 1):
            try:
                term, category = str(item["term"]), str(item["category"])
            except (KeyError, TypeError) as exc:
                raise ConfigError(f"{source}: entry {n} needs term and category") from exc
            if category not in weights:
                raise ConfigError(f"{source}: entry {n} ({term!r}) has unknown category {category!r}")
            entry = Entry(term, category, str(item.get("lang", "")), float(item.get("weight", weights[category])),
                          str(item.get("note", "")))
            self.entries.append(entry)
            key = " ".join(fold(term).replace("-", " ").split())
            if key:
                self._words.add_word(key, (key, entry))
            skel = skeleton(term)
            if len(skel) >= 4:
                self._tags.add_word(skel, (skel, entry))
        if not self.entries:
            raise ConfigError(f"{source}: lexicon has no entries")
        self._words.make_automaton()
        self._tags.make_automaton()

    @classmethod
    def load(cls, path: str | Path | None = None) -> Lexicon:
        p = Path(path) if path is not None else default_lexicon_path()
        try:
            data = yamlio.safe_load(p.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read lexicon {p}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: lexicon must be a mapping")
        return cls(data, str(p))

    def match(self, text: str, folded_text: tuple[str, list[int]] | None = None) -> list[Hit]:
        """Every entry found in ``text``, with spans in ``text``; overlapping hits of the same entry once.
        ``folded_text``: ``fold_with_offsets(text)`` when the caller has it already."""
        folded, offsets = folded_text if folded_text is not None else fold_with_offsets(text)
        # hyphens and underscores read as spaces, so "al-naba", "al naba" and "al_naba" all match
        work = folded.translate(_SEPARATORS)
        hits: list[Hit] = []
        seen: set[tuple[str, int]] = set()
        for end_idx, (key, entry) in self._words.iter(work):
            start = end_idx - len(key) + 1
            if not _boundary_ok(work, start, end_idx + 1, _is_arabic(key[0])):
                continue
            o_start, o_end = offsets[start], offsets[end_idx] + 1
            if (entry.term, o_start) not in seen:
                seen.add((entry.term, o_start))
                hits.append(Hit(entry, o_start, o_end))
        if "#" in text:
            for m in _HASHTAG.finditer(text):
                tag = skeleton(m.group(1))
                for _end, (_key, entry) in self._tags.iter(tag):
                    if (entry.term, m.start()) not in seen and not any(
                            h.entry.term == entry.term and h.start >= m.start() and h.end <= m.end() for h in hits):
                        seen.add((entry.term, m.start()))
                        hits.append(Hit(entry, m.start(), m.end()))
        hits.sort(key=lambda h: (h.start, -h.end))
        # an entry inside a longer one that matched (أعماق inside وكالة أعماق) adds nothing
        kept: list[Hit] = []
        for h in hits:
            if not any(k.start <= h.start and h.end <= k.end and k.entry != h.entry
                       and len(k.entry.term) > len(h.entry.term) for k in kept):
                kept.append(h)
        return kept

    @staticmethod
    def score(hits: list[Hit]) -> float:
        """1 - prod(1 - weight) over distinct entries: several independent markers add up, one stays weak."""
        p = 1.0
        for entry in dict.fromkeys(h.entry for h in hits):  # in the text's order: a set's order changes with
            p *= 1.0 - entry.weight  # the process's string hashing, and so would the product's last bits
        return 1.0 - p


_SEPARATORS = str.maketrans({"-": " ", "_": " ", "\u2010": " ", "\u2011": " "})
