"""The threat analyser's lexicons: words, phrases and separable verbs mapped to language-independent tags.

Why tags and not words: the same speech act is written with different words in every language and by every
author. A model that learns "first person, future, lethal act, human target" from English carries it to German
and Arabic, and to the next author's wording, where one that learns "we will kill" does not. The lexicons
(``threats/data/lexicon/<lang>.yaml``, documented in the README beside them) hold general vocabulary; each
word is reduced to its stem with the language's Snowball stemmer (PyStemmer) when the file loads, so every
inflection of a listed word carries its tags.

A language is one YAML file plus a Snowball stemmer name; :func:`load_lexicons` reads every file there is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import Stemmer
import yaml

from bastion import yamlio
from bastion.errors import ConfigError
from bastion.text.normalize import fold
from bastion.threats.words import split_words

#: Every tag a lexicon may use (the README beside the lexicons explains them).
TAGS: frozenset[str] = frozenset({
    "KILL", "HURT", "DESTROY", "DEATH", "WEAPON", "BODY",
    "P1", "P2", "P3", "IT", "GEN", "NOONE",
    "FUT", "INTENT", "DEONT", "WISH", "COND", "NEG", "PAST", "BE", "MODAL", "NEAR",
    "HUMAN", "PLACE", "NONHUMAN", "GAME", "FICTION",
    "REPORT", "NEWS", "THREATN", "CONDEMN", "ENDORSE", "PRAYER", "GOD", "IDIOM", "LAUGH",
    "VOC", "BOUNTY", "MOVE", "VEIL",
    "HINT",  # a veiled-threat phrase with everyday readings ("enjoy it while you can"): VEIL once someone is named
    "KNOW", "LOC", "FAMILY", "WATCH", "SAFE", "WARN", "SOON", "PAY", "LIVE",
    "INSULT",
    "TOPIC",  # a violent word naming a subject of debate, not an act or a weapon in use ("gun control")
    "ACT",  # a verb violent only with its object, read through ``split`` ("cut" + "head", "open" + "fire")
    "POSS",  # possessive determiners: a target's owner, never the agent
    "OBJ",  # object pronouns: a target, never the agent
    "STOP",  # verbs of stopping: "nothing will stop us" negates the stopping, not the act
    "IMP", "PASS", "PRES", "MENTION", "HASHTAG",  # set by the analyser from a word's form or place
    "O1", "O2", "O3",  # an Arabic verb's object suffix ("يذبحني": he slaughters me): the person it harms
})
#: Tags that name violence itself; a post with none of them (and no veiled-threat phrase, call on others or
#: bounty) is not parsed further.
HARM_TAGS: frozenset[str] = frozenset({"KILL", "HURT", "DESTROY", "DEATH", "WEAPON"})
GATE_TAGS: frozenset[str] = HARM_TAGS | {"VEIL", "HINT", "VOC", "BOUNTY"}
#: The grammatical persons: I/we, you, he/she/they.
PERSON_TAGS: frozenset[str] = frozenset({"P1", "P2", "P3"})
#: The parts of a veiled threat ("we know where you live", "hug your kids tonight"): with a word that addresses
#: the reader, they also open the gate.
VEILED_PARTS: frozenset[str] = frozenset({"KNOW", "WATCH", "SAFE", "WARN", "SOON", "PAY", "LIVE", "FAMILY", "LOC"})
#: Someone or something to harm: a person, a place, a family member, a body. A call on others, a bounty or the
#: parts of a veiled threat with no word of violence and no veiled-threat phrase are worth a parse only with one
#: of these (the detector's second gate; a veiled threat without a victim noun is a phrase: "we know where you
#: live", "your day will come").
VICTIM_TAGS: frozenset[str] = frozenset({"HUMAN", "PLACE", "FAMILY", "BODY"})


#: Tags of nouns: matched by their exact forms (and plurals) in Latin-script languages, never by stem.
NOUN_TAGS: frozenset[str] = frozenset({"HUMAN", "PLACE", "NONHUMAN", "FAMILY", "BODY", "WEAPON", "GAME",
                                       "FICTION", "LOC", "INSULT"})


#: The key of a phrase trie node that holds the tags of the phrase ending there (no word is empty).
TAGS_KEY = ""


@dataclass(slots=True)
class Lexicon:
    """One language's lexicon, compiled: stem -> tags, exact form -> tags, phrases by first stem."""

    lang: str
    script: str
    stemmer_name: str
    stop: frozenset[str]
    stem_tags: dict[str, frozenset[str]] = field(default_factory=dict)  # Arabic: the folded word itself
    form_tags: dict[str, frozenset[str]] = field(default_factory=dict)
    #: words the stemmer joins to a listed word but that are no form of it: only their own listed tags count
    #: ("executive" is no form of "execute", "neutral" none of "neutralise")
    not_forms: frozenset[str] = frozenset()
    #: phrases as a trie over their words: word -> node; a node's ``TAGS_KEY`` entry holds a phrase's tags
    phrases: dict[str, Any] = field(default_factory=dict)
    #: verb stem -> [(particle stem, tags)]: ``blow ... up``, ``stechen ... ab``
    split: dict[str, list[tuple[str, frozenset[str]]]] = field(default_factory=dict)
    _stemmer: Any = None

    def stem(self, word: str) -> str:
        if self._stemmer is None:
            self._stemmer = Stemmer.Stemmer(self.stemmer_name)
        return str(self._stemmer.stemWord(word))

    def lookup(self, word: str) -> frozenset[str] | None:
        """Tags of one (folded, de-obfuscated) word, from its exact form or its stem; None if unknown."""
        exact = self.form_tags.get(word)
        if word in self.not_forms:
            return exact
        stemmed = self.stem_tags.get(self.stem(word))
        if exact is None:
            return stemmed
        return exact if stemmed is None else exact | stemmed

    def phrase_list(self) -> Iterator[tuple[tuple[str, ...], frozenset[str]]]:
        """Every phrase of the trie: its words and its tags."""
        stack: list[tuple[Mapping[str, Any], tuple[str, ...]]] = [(self.phrases, ())]
        while stack:
            node, path = stack.pop()
            for word, child in node.items():
                if word == TAGS_KEY:
                    yield path, child
                else:
                    stack.append((child, (*path, word)))

    def key(self, word: str) -> str:
        """What phrases are matched on: the stem in languages whose stemmer reaches the inflections; the folded
        word itself for short (function) words and in Arabic, whose light stemmer strips the object suffixes a
        phrase is made of."""
        if self.script == "arabic" or len(word) <= 3:  # short words: "its" is not "it", "us" not "u"
            return word
        return self.stem(word)


def _words(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ConfigError(f"{where}: expected a list of words")
    flags = [v for v in value if isinstance(v, bool)]
    if flags:  # YAML 1.1 reads an unquoted no, yes, on, off, y or n as a boolean
        raise ConfigError(f"{where}: {flags[0]!r} is a YAML boolean, not a word: quote the word (\"no\", \"on\", "
                          "\"off\")")
    return [fold(str(v)).strip() for v in value if str(v).strip()]


def _tagged(section: Any, where: str) -> Mapping[str, Any]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a mapping of tag to words")
    unknown = set(section) - TAGS
    if unknown:
        raise ConfigError(f"{where}: unknown tag(s) {sorted(unknown)}; known: {sorted(TAGS)}")
    return section


def _tokens(phrase: str) -> list[str]:
    return split_words(phrase)  # the analyser's own word splitting, so phrases match as the text does


def compile_lexicon(data: Mapping[str, Any], source: str) -> Lexicon:
    """Build a :class:`Lexicon` from the parsed YAML of one language file."""
    try:
        lex = Lexicon(lang=str(data["lang"]), script=str(data["script"]), stemmer_name=str(data["stemmer"]),
                      stop=frozenset(_words(data.get("stop", []), f"{source}: stop")))
    except KeyError as exc:
        raise ConfigError(f"{source}: missing {exc.args[0]!r}") from exc
    if lex.stemmer_name not in Stemmer.algorithms():
        raise ConfigError(f"{source}: no Snowball stemmer {lex.stemmer_name!r}")
    stems: dict[str, set[str]] = {}
    forms_w: dict[str, set[str]] = {}
    merged: dict[tuple[str, ...], set[str]] = {}
    for tag, words in _tagged(data.get("words"), f"{source}: words").items():
        for w in _words(words, f"{source}: words.{tag}"):
            parts = _tokens(w)
            if len(parts) == 1 and tag in NOUN_TAGS and lex.script == "latin":
                # nouns by their exact forms: a stem would join "reporter" to "report", "officer" to "office"
                for form in (w, w + "s", w + "es", w + "n", w + "en"):
                    forms_w.setdefault(form, set()).add(tag)
            elif len(parts) == 1:
                stems.setdefault(lex.key(parts[0]), set()).add(tag)
            elif parts:  # "machine-gun", "body bag": read as a phrase
                merged.setdefault(tuple(parts), set()).add(tag)
    forms: dict[str, set[str]] = forms_w
    for tag, words in _tagged(data.get("forms"), f"{source}: forms").items():
        for w in _words(words, f"{source}: forms.{tag}"):
            forms.setdefault(w, set()).add(tag)
    lex.stem_tags = {k: frozenset(v) for k, v in stems.items()}
    lex.form_tags = {k: frozenset(v) for k, v in forms.items()}
    lex.not_forms = frozenset(form for w in _words(data.get("not_forms", []), f"{source}: not_forms")
                               for form in (w, w + "s", w + "es"))
    for tag, phrases in _tagged(data.get("phrases"), f"{source}: phrases").items():
        for p in _words(phrases, f"{source}: phrases.{tag}"):
            keys = tuple(_tokens(p))
            if keys:
                merged.setdefault(keys, set()).add(tag)
    for keys, tags in merged.items():
        node = lex.phrases
        for k in keys:
            node = node.setdefault(k, {})
        node[TAGS_KEY] = frozenset(tags) | node.get(TAGS_KEY, frozenset())
    for tag, pairs in _tagged(data.get("split"), f"{source}: split").items():
        for pair in pairs or []:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise ConfigError(f"{source}: split.{tag}: expected [verb, particle] pairs of words, got {pair!r} "
                                  "(quote a particle YAML reads as a boolean: \"off\", \"on\")")
            verb, particle = (lex.key(fold(str(x))) for x in pair)
            pairs_of = lex.split.setdefault(verb, [])
            if (particle, frozenset({tag})) not in pairs_of:  # "leg" and "legs" share a key: look each up once
                pairs_of.append((particle, frozenset({tag})))
    return lex


@cache
def load_lexicons(names: Sequence[str] | None = None) -> Mapping[str, Lexicon]:
    """Every shipped lexicon (or the named ones), keyed by language code."""
    root = resources.files("bastion.threats") / "data" / "lexicon"
    out: dict[str, Lexicon] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        lang = entry.name.removesuffix(".yaml")
        if names is not None and lang not in names:
            continue
        try:
            data = yamlio.safe_load(entry.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"lexicon {entry.name}: {exc}") from exc
        out[lang] = compile_lexicon(data, entry.name)
    return out
