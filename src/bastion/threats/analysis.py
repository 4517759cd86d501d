"""Read a post as speech: words, what each one does (its tags), the quotations, and the clauses.

The analyser is the threat detector's first stage. It folds spelling games away (leet digits, spaced-out
letters, stretched letters; folding itself drops tatweel and diacritics), splits the text into words, gives each
word its tags from the language's lexicon (:mod:`bastion.threats.lexicon`) plus what its form says (an English
``-ed``/``-ing``, a German participle, the Arabic prefixes of future and person and the suffixes of the object),
reads phrases and separable verbs as units, and marks which words stand inside a quotation. What the words add up
to - who commits to what against whom, and whether the author says it or reports it - is
:mod:`bastion.threats.stance`'s job.

Everything is cached per distinct word, so the cost per post is a regular-expression scan and a dictionary
look-up per word; most posts have no word of violence at all and stop there (:attr:`Analysis.gated`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import Any, NamedTuple, cast

from bastion.threats.lexicon import (
    GATE_TAGS,
    HARM_TAGS,
    NOUN_TAGS,
    PERSON_TAGS,
    TAGS_KEY,
    VEILED_PARTS,
    VICTIM_TAGS,
    Lexicon,
    load_lexicons,
)
from bastion.threats.words import SPACED, SYMBOL, WORD, WORDS, norm

# --- tokens ---------------------------------------------------------------------------------------------------
# words (threats/words.py), quotation marks, clause punctuation
_QUOTE = r"[\"“”„«»‹›「」‘]"  # not ' or ’: they are apostrophes far more often ("employees' blood")
#: ’ after a word and not before a letter: the end of a quotation opened with ‘ ("‘we will ...’: the messages"),
#: or an apostrophe ("employees’ blood") - read as the end only when ‘ opened one
_CLOSE_SINGLE = r"(?<=[^\W_])’(?![^\W_])"
_PUNCT = r"[.!?؟…]+|[;؛]|[,،]|:|\n|<lf>|\s[–—-]\s"  # <LF>: a line break as some corpora write it
#: a straight single quote that may open a quotation (at the start, after a space, a colon or a bracket, before a
#: letter) or close one (after a letter or a full stop, before a space, punctuation or the end); one inside a word
#: ("don't") is neither
_STRAIGHT_QUOTE = re.compile(r"(?P<o>(?:^|(?<=[\s:(\[]))'(?=[^\W_]))|(?P<c>(?<=[\w.!?,])'(?=$|[\s.,!?;:)\]]))")
_TOKEN = re.compile(f"(?P<s>{SPACED})|(?P<w>{WORD})|(?P<q>{_QUOTE})|(?P<c>{_CLOSE_SINGLE})|(?P<p>{_PUNCT})|"
                    f"(?P<y>{SYMBOL})")

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_LATIN = re.compile(r"[a-z\u00df-\u00ff]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})
_HAS_LEET = re.compile(r"[a-z\u00df-\u00ff]")
_RUN3 = re.compile(r"(.)\1\1+")
_HARAKA = re.compile("[\u064b-\u0652]")  # Arabic short vowels, tanwin, shadda, sukun
_AR_LETTER = re.compile("[\u0621-\u064a]")


def vowelled(text: str) -> bool:
    """Whether a text is Arabic written with its short vowels - at least half its letters carry one: scripture or
    verse quoted. Posts, news and threats leave them out (none of the labelled threats here carries them; the
    Quran's text carries them on 84% of its letters), so the threat detector does not parse such a text: a verse
    of fighting quoted is no threat of its author's, and the posts that quote scripture are ordinary Muslims'."""
    if not _HARAKA.search(text):
        return False
    letters = len(_AR_LETTER.findall(text))
    return letters >= 10 and 2 * len(_HARAKA.findall(text)) >= letters


#: Arabic laughter, however long: "ههههه", "خخخخ", "هاهاها" (collapsing its run would leave "ه", the future prefix)
_AR_LAUGH = re.compile(r"(?:ه{3,}|خ{3,}|(?:ها){2,}ه?|(?:هه){2,}ه?)")
_LAUGH_TAGS = frozenset({"LAUGH"})
_SPACERS = " .-*·"

#: Pseudo-tags for the structure between words: sentence end, clause break, colon, question, exclamation,
#: quotation mark.
PUNCT_TAGS = {".": "<.>", ",": "<,>", "،": "<,>", ";": "<,>", "؛": "<,>", ":": "<:>", "\n": "<.>", "?": "<?>",
              "؟": "<?>", "!": "<!>", "…": "<.>"}
EVENT_TAGS = frozenset({"KILL", "HURT", "DESTROY", "DEATH"})
_ACTS = frozenset({"KILL", "HURT", "DESTROY"})  # the events someone does to someone
#: what a verb's prefixes say: its tense, mood and voice
_VERB_MORPH = frozenset({"FUT", "PRES", "PAST", "IMP", "PASS"})
#: the tags of pronouns and of prepositions with a pronoun ("لكم", to you): no verb's stem
_PRONOUN_TAGS = PERSON_TAGS | {"OBJ", "POSS"}
_VERBISH = EVENT_TAGS | {"MOVE", "REPORT"}  # listed Arabic forms whose clitics say who acts and when
_FIGURATIVE = frozenset({"IDIOM", "PRAYER", "NONHUMAN", "GAME", "FICTION", "TOPIC"})
_WHEN = frozenset({"NEAR", "SOON"})  # phrases that name a time
_HINT, _VEIL = frozenset({"HINT"}), frozenset({"VEIL"})
_PEOPLE = frozenset({"HUMAN"})  # phrases that name people
_WHERE = frozenset({"LOC", "PLACE"})  # phrases that name where someone is ("your van")
_STRUCTURAL = HARM_TAGS | {"BODY", "P1", "P2", "P3", "POSS", "IT", "GEN", "HUMAN", "PLACE", "FAMILY", "LOC",
                           "FUT", "INTENT", "DEONT", "WISH", "COND", "IMP", "NEAR", "SOON", "MENTION", "HASHTAG",
                           "STOP", "O1", "O2", "O3"}
#: a phrase of saying or hearsay ("gedroht haben soll", "is said to have") reports; its words' modal verbs are the
#: report's, not an obligation or intent of the speaker's
_REPORTING = frozenset({"REPORT", "THREATN"})
_ENDORSE = frozenset({"ENDORSE"})
_MODALITY = frozenset({"FUT", "INTENT", "DEONT", "WISH"})
#: handles, links, and a photo's place tagged at the end of a post ("... @ Stone Arch Bridge", "@ St. Albans,
#: Queens"): its words name where the author is, not whom the post is about
_HANDLE_OR_URL = re.compile(r"@\w+|https?://\S+|\bwww\.\S+|@ [^\n@#]{1,80}$")
_HASHTAG_SPAN = re.compile(r"#[^\W][\w]*")
_HANDLE = re.compile(r"(?<!\w)@\w")
_SOMEONE = frozenset({"HUMAN"})  # an account addressed by its handle is someone


class Token(NamedTuple):
    """One word (or punctuation or symbol) of the folded text. ``start``/``end`` index the folded text. (A
    named tuple: a post makes dozens, and a frozen dataclass costs several times as much to build.)"""

    start: int
    end: int
    norm: str  # the word as read: folded, spelling games undone
    key: str  # its stem (Latin script) or stem core (Arabic), for separable verbs
    tags: frozenset[str]
    quoted: bool = False
    sentence: int = 0
    punct: str = ""  # the pseudo-tag of a punctuation or quotation token


@dataclass(frozen=True, slots=True)
class Analysis:
    lang: str
    tokens: tuple[Token, ...]
    quotes: tuple[tuple[int, int], ...]  # folded offsets of each quotation's inside
    #: any word of violence, veiled-threat phrase, call on others or bounty: the post is worth a parse
    gated: bool
    #: a word that addresses someone ("you") or a part of a veiled threat: with a protected asset named, the
    #: detector opens its gate too
    addressed: bool = False
    #: the first gate opened and the second closed: a call, a bounty or parts of a veiled threat with no one named
    #: to harm - a protected asset named opens the detector's gate again
    victimless: bool = False

    @property
    def harm(self) -> bool:
        return any(t.tags & HARM_TAGS for t in self.tokens)


# --- per-word analysis -----------------------------------------------------------------------------------------
_DE_SEPARABLE = ("nieder", "zusammen", "kalt", "tot", "ab", "an", "auf", "aus", "um", "ein", "hin", "weg", "fest")
_DE_ENDINGS = ("test", "tet", "ten", "est", "st", "te", "et", "t")


def _latin_variants(word: str) -> list[str]:
    """The word as written, with leet digits read as letters, and with stretched letters collapsed."""
    out = [word]
    if any(c.isdigit() for c in word) and _HAS_LEET.search(word) and not word.isdigit():
        out.append(word.translate(_LEET))
    for w in list(out):
        if _RUN3.search(w):
            out.append(_RUN3.sub(r"\1\1", w))
            out.append(_RUN3.sub(r"\1", w))
    return out


def _german_candidates(word: str) -> list[tuple[str, str]]:
    """German verb forms the Snowball stemmer leaves inflected: participles (``ge-``), ``zu``-infinitives and
    separable prefixes, and the ``-t``/``-te`` endings of the present and past. Returns (word, morph tag)."""
    out: list[tuple[str, str]] = []
    stems = [(word, "")]
    if word.startswith("ge") and len(word) > 5:
        stems.append((word[2:], "PART"))
    for prefix in _DE_SEPARABLE:
        if word.startswith(prefix) and len(word) > len(prefix) + 3:
            rest = word[len(prefix):]
            if rest.startswith("ge"):
                stems.append((prefix + rest[2:], "PART"))
            elif rest.startswith("zu"):
                stems.append((prefix + rest[2:], "INF"))
    for w, morph in stems:
        out.append((w, morph))
        for ending in _DE_ENDINGS:
            if w.endswith(ending) and len(w) - len(ending) >= 3:
                out.append((w[: -len(ending)] + "en", morph))
    return out


# Arabic clitics. A verb: [conjunction] [future / present / oath] [person] STEM [plural] [object];
# a noun: [conjunction] [preposition] [article] STEM [possessive].
_AR_CONJ = ("", "و", "ف")
_AR_TENSE = {"": "", "س": "FUT", "ح": "FUT", "ه": "FUT", "ب": "PRES", "ل": "FUT"}
_AR_PERSON = {"ا": "P1", "ن": "P1", "ت": "P2", "ي": "P3"}
_AR_PLURAL = ("", "وا", "و", "ون", "ين", "ن", "ي")
_AR_OBJECT = {"": "", "كم": "P2", "كن": "P2", "ك": "P2", "كي": "P2", "ج": "P2", "هم": "P3", "هن": "P3",
              "ه": "P3", "ها": "P3", "ني": "P1", "نا": "P1"}
_AR_NOUN_PRE = ("", "ال", "بال", "لل", "كال", "ب", "ل", "ك")
_AR_ARTICLES = frozenset({"ال", "بال", "لل", "كال"})  # the prefixes above that hold the article ("لل": li + al)
_AR_NOUN_SUF = {"": "", "ا": "", "كم": "P2", "ك": "P2", "كن": "P2", "هم": "P3", "ه": "P3", "ها": "P3", "نا": "P1",
                "ي": "P1", "ات": "", "ين": "", "ون": ""}
_AR_POSSESSIVE = (("كم", "P2"), ("كن", "P2"), ("هم", "P3"), ("هن", "P3"))
#: the most letters a parse strips before a stem (conjunction, tense, person, a form's t/n; or conjunction and
#: article with preposition) and after it (object and plural; or possessive)
_AR_MAX_AFFIX = 4
_P3_ONLY = frozenset({"P3"})
_I_TO_YOU = frozenset({"P1", "P2", "O2"})
#: endings only a verb carries: a past tense's subject "ت" (or "تو") before the object "ني" (me); Snowball's
#: stemmer would strip them and find a noun ("خبرتني" -> "خبر", news; "وحشتني", I missed you -> "وحش", beast)
_AR_VERB_ONLY = ("تني", "توني")
_NOUN_TAGS = frozenset({"HUMAN", "PLACE", "NONHUMAN", "FAMILY", "LOC", "BODY", "WEAPON", "NEWS", "GAME",
                        "FICTION", "INSULT", "VOC", "SOON", "NEAR"})


_OBJECT_MARK_TAGS = frozenset({"O1", "O2", "O3"})
_OBJECT_AND_PERSON = _OBJECT_MARK_TAGS | {"P1", "P2", "P3"}


def _listed_prefix(form: str, plural: str = "") -> frozenset[str]:
    """What a listed verb form says in its own first letters - the future and its person ("سنعدم": we will),
    or the third person of the present ("يعدم") - when its bare stem is not listed and no parse can find it
    ("عدم" alone is "lack", so the lexicon lists the forms of "أعدم", to execute, with their prefixes). ``plural``:
    the plural ending the parse took off the word; "ت" with one is "you" ("تعدمون"), alone also "she"."""
    if len(form) >= 5 and form[0] == "س" and form[1] in "اينت":  # "ساعدمك": I will execute you
        return frozenset({"FUT", _AR_PERSON[form[1]]})
    if len(form) >= 4 and form[0] == "ي":
        return _P3_ONLY
    if len(form) >= 4 and form[0] == "ا" and form.endswith(("ك", "كم", "كن")):  # "اعدمك": I execute you (an
        return _I_TO_YOU  # imperative takes no "you" for its object)
    if len(form) >= 4 and form[0] == "ت" and plural in ("ون", "وا"):
        return _P2_TAG
    return frozenset()


def _verb_endings(core0: str) -> Iterator[tuple[str, frozenset[str], str]]:
    """(stem, object tags, plural ending) for each way to strip a verb's object suffix and plural ending. An object
    suffix gives its person and an ``O`` tag naming it as the object ("ني": P1 and O1), so the person of the
    prefix stays the agent: "بيذبحني" is he (P3) slaughtering me (O1), not me slaughtering him."""
    for obj, person in _AR_OBJECT.items():
        if obj and not core0.endswith(obj):
            continue
        otag = frozenset({person, "O" + person[1]}) if person else frozenset()
        core1 = core0[: len(core0) - len(obj)] if obj else core0
        for plural in _AR_PLURAL:
            if plural and not core1.endswith(plural):
                continue
            core = core1[: len(core1) - len(plural)] if plural else core1
            if len(core) >= 2:
                yield core, otag, plural


def _arabic_parses(word: str) -> list[tuple[str, frozenset[str]]]:
    """Ways to read an Arabic word as clitics around a stem, most specific (longest stem) first."""
    out: list[tuple[str, frozenset[str]]] = []
    for conj in _AR_CONJ:
        if not word.startswith(conj):
            continue
        w = word[len(conj):]
        # verbs
        for tense, ttag in _AR_TENSE.items():
            if not w.startswith(tense):
                continue
            body = w[len(tense):]
            for person, ptag in (*_AR_PERSON.items(), ("", "")):
                if not body.startswith(person) or (tense and not person and tense not in "حه"):
                    continue
                if tense and not person:  # Egyptian/Levantine first person singular drops its alef: هقتل
                    ptag = "P1"
                base = {t for t in (ttag, ptag) if t}
                if conj and tense == "ل" and person in ("ي", "ت"):  # the lam of command: "فليقتحم", let him storm
                    base = {"IMP", ptag}
                core0 = body[len(person):]
                if person and core0[:1] in ("ن", "ت") and len(core0) > 4:  # ينقتل, يتدبح: forms VII and V
                    for core, otag, _ in _verb_endings(core0[1:]):
                        out.append((core, frozenset(base | {"PASS"} | otag)))
                for core, otag, plural in _verb_endings(core0):
                    tags = base | otag
                    if person == "ا" and plural in ("وا", "و") and not tense:
                        tags = {"IMP", "P2"} | otag
                    elif not person and plural in ("وا", "و") and not tense:
                        tags |= {"PAST", "P3"}
                    out.append((core, frozenset(tags)))
        # nouns
        for pre in _AR_NOUN_PRE:
            if not w.startswith(pre):
                continue
            body = w[len(pre):]
            for suf, stag in _AR_NOUN_SUF.items():
                if suf and not body.endswith(suf):
                    continue
                core = body[: len(body) - len(suf)] if suf else body
                if stag and (pre in _AR_ARTICLES or (core.startswith("ال") and len(core) > 4)):
                    continue  # the article takes no possessive: "بالسكينه" is "with tranquility", no "his knife"
                if len(core) >= 3:
                    out.append((core, frozenset({stag} if stag else ())))
                    if suf and core.endswith("ت"):  # ta marbuta before a suffix: تصفيته -> تصفيه
                        out.append((core[:-1] + "ه", frozenset({stag} if stag else ())))
    out.sort(key=lambda p: -len(p[0]))
    return out


class Analyzer:
    """Tokenises and tags posts with the shipped lexicons (or the given ones). Thread-safe after construction:
    its caches only grow."""

    def __init__(self, lexicons: Mapping[str, Lexicon] | None = None, cache_size: int = 1 << 18) -> None:
        self.lexicons = dict(lexicons if lexicons is not None else load_lexicons())
        self._any = self.lexicons.pop("any", None)
        self._arabic = [lx for lx in self.lexicons.values() if lx.script == "arabic"]
        self._latin = {lx.lang: lx for lx in self.lexicons.values() if lx.script == "latin"}
        #: folded word -> tags, for the stems Arabic parsing produces (no stemming needed)
        self._ar_cores: dict[str, frozenset[str]] = {}
        for lx in self._arabic:
            for src in (lx.form_tags, lx.stem_tags):
                for k, v in src.items():
                    self._ar_cores[k] = self._ar_cores.get(k, frozenset()) | v
        #: Arabic words a parse would read as clitics around a listed stem but that are no form of it ("شبابيك",
        #: windows, is no "شباب" + "you"): only their own listed tags count
        self._ar_not_forms = frozenset().union(*(lx.not_forms for lx in self._arabic))
        #: per language: word as written -> (plain, key, tags). Plain dicts: a look-up is a fraction of an
        #: lru_cache call, and the vocabulary of a stream is Zipfian; each is emptied when it reaches the cap
        self._cache: dict[str, dict[str, tuple[str, str, frozenset[str]]]] = {}
        self._cache_size = cache_size
        #: function word -> the Latin-script languages it belongs to (one pass over a post's words votes)
        self._stops: dict[str, tuple[str, ...]] = {}
        for lang, lx in self._latin.items():
            for w in lx.stop:
                self._stops[w] = (*self._stops.get(w, ()), lang)
        #: per language: the first words of its phrases (a post with none skips the phrase look-up of the parse);
        #: one word of each phrase the gate reads, and the verbs whose particle may open the gate - a post with
        #: none of these skips the phrase and separable-verb look-ups of the gate (most posts)
        self._phrase_firsts = {lx.lang: frozenset(lx.phrases) for lx in self.lexicons.values()}
        self._gate_anchors = {lx.lang: _anchors(lx, _GATE_READS) for lx in self.lexicons.values()}
        self._split_verbs_gating = {lx.lang: frozenset(k for k, pairs in lx.split.items()
                                                       if any(tags & GATE_TAGS for _, tags in pairs))
                                    for lx in self.lexicons.values()}

    def _word(self, lang: str, word: str) -> tuple[str, str, frozenset[str]]:
        cache = self._cache.get(lang)
        if cache is None:
            cache = self._cache[lang] = {}
        hit = cache.get(word)
        if hit is None:
            if len(cache) >= self._cache_size:
                cache.clear()
            hit = cache[word] = self._word_uncached(lang, word)
        return hit

    def _words(self, lang: str, arabic: bool, words: Sequence[str]) -> list[tuple[str, str, frozenset[str]]]:
        """:meth:`_word` for every word of a post: Arabic-script words in Arabic, the others in ``lang``."""
        cache = self._cache.get(lang)
        if cache is None or arabic:
            return [self._word("ar" if arabic and not w.isascii() and _ARABIC.match(w) else lang, w)
                    for w in words]
        hits = list(map(cache.get, words))
        if None not in hits:  # a warm cache knows every word of most posts
            return cast(list[tuple[str, str, frozenset[str]]], hits)
        return [hit or self._word(lang, w) for hit, w in zip(hits, words, strict=True)]

    # -- language ----------------------------------------------------------------------------------------------
    def latin_language(self, words: Sequence[str], hint: str | None = None) -> str | None:
        """The Latin-script lexicon for these words: the language whose function words are most frequent, or the
        post's own ``lang`` unless another language leads it by two function words or more."""
        if not self._latin:
            return None
        votes: dict[str, float] = dict.fromkeys(self._latin, 0.0)
        for langs in filter(None, map(self._stops.get, words)):
            for lang in langs:
                votes[lang] += 1
        if hint in votes and max(votes.values()) < votes[hint] + 2:
            return hint  # no language leads the post's own by two (a tie's half vote below cannot change that)
        ranked = sorted(votes.values(), reverse=True)
        if len(ranked) > 1 and ranked[0] == ranked[1]:  # a tie (short posts): German letters, else English
            german = any(c in w for w in words for c in "äöüß")
            votes = {lang: n + (0.5 if lang == ("de" if german else "en") else 0.0) for lang, n in votes.items()}
        best = max(votes, key=votes.__getitem__)
        if hint in self._latin and votes[best] < votes[hint] + 2:
            return hint  # the post's own language, unless its words plainly say otherwise
        return best

    # -- one word ------------------------------------------------------------------------------------------------
    def _word_uncached(self, lang: str, word: str) -> tuple[str, str, frozenset[str]]:
        """(plain spelling, stem key, tags) of one word as the text has it, in one language. Phrases match the
        plain spelling (spelling games undone), separable verbs the stem."""
        raw = word
        word = norm(word)
        if self._any is not None and (t := self._any.form_tags.get(word)):
            return word, word, t
        if lang == "ar" or (_ARABIC.search(word) and not _LATIN.search(word)):
            return self._arabic_word(word)
        lx = self._latin.get(lang)
        if lx is None:
            return word, word, frozenset()
        variants = _latin_variants(word)
        if len(raw) > 6 and raw[0] in "ai" and raw[1] in _SPACERS:  # "a b o m b": the article spaced out too
            variants.append(norm(raw[2:]))
        for variant in variants:
            tags = lx.lookup(variant)
            if tags:
                return variant, lx.key(variant), tags | self._latin_morph(lang, variant, tags)
            if lang == "de":
                for cand, morph in _german_candidates(variant)[1:]:
                    tags = (lx.lookup(cand) or frozenset()) - NOUN_TAGS  # verb forms: "hast" is no "Hasen"
                    if tags:
                        return variant, lx.key(cand), tags | ({morph} if morph else frozenset())
        return variants[-1], lx.key(variants[-1]), frozenset()

    @staticmethod
    def _latin_morph(lang: str, word: str, tags: frozenset[str]) -> frozenset[str]:
        if not tags & EVENT_TAGS:
            return frozenset()
        if lang == "en":
            if (word.endswith("ed") and not word.endswith("eed")) or word in _EN_IRREGULAR_PAST:  # "bleed" is
                return frozenset({"ED"})  # no past participle
            if word.endswith("ing"):
                return frozenset({"ING"})
        if lang == "de" and len(word) > 5 and word.endswith(("t", "en")) and any(
                word.startswith(p + "ge") for p in ("", *_DE_SEPARABLE)):
            return frozenset({"PART"})  # getötet, umgebracht, abgestochen
        return frozenset()

    def _arabic_word(self, word: str) -> tuple[str, str, frozenset[str]]:
        if _AR_LAUGH.fullmatch(word):
            return word, word, _LAUGH_TAGS
        word = _RUN3.sub(r"\1", word)  # stretched letters: "نقطععع"
        direct = self._ar_cores.get(word)
        if word in self._ar_not_forms:
            return word, word, direct or frozenset()
        if direct and "IMP" in direct:  # a listed imperative ("روحوا", dialect: go!), not a past tense of its stem
            return word, word, direct | _P2_TAG
        if direct:
            if direct <= _NOUN_TAGS:  # a listed noun form: its possessive suffix still says whose
                direct |= next((frozenset({t}) for suf, t in _AR_POSSESSIVE if word.endswith(suf)), frozenset())
            elif direct & _VERBISH:  # a listed verb form ("ستموتون"): its clitics still say who and when
                cores = self._ar_cores
                parses = _arabic_parses(word)
                morph = next((morph for core, morph in parses
                              if core != word and len(core) > 2 and cores.get(core, frozenset()) & _VERBISH), None)
                if morph is None:  # a listed imperative ("اعدموه", "ابحثوا"): alef, stem, plural, object
                    morph = next((m for _, m in parses if "IMP" in m), None)
                if morph is None:  # a listed form with its own prefix takes its object too ("سنعلقكم": we will
                    # hang you); a bare plural ("صفوهم") stays unread, for its context to make it a past or a command
                    morph = _listed_prefix(word)
                    if morph:
                        morph |= next((m & _OBJECT_AND_PERSON for _, m in parses
                                       if not m.isdisjoint(_OBJECT_MARK_TAGS)), frozenset())
                direct |= morph
            return word, word, direct
        for core, morph in _arabic_parses(word) if self._may_parse(word) else ():
            tags = self._ar_cores.get(core)
            # two letters: a doubled verb (طخ), not a particle, nor the noun "دم" (blood) under an object suffix
            # the verb parse gives it ("دمج", merge, is no "blood" + "you")
            if tags and (len(core) > 2 or tags & _ACTS):
                if "PASS" in morph and "DEATH" in tags and not tags & _ACTS:  # no form V or VII of dying:
                    continue  # "تنميته" (its development) holds no "ميته" (dead)
                if morph & _VERB_MORPH and tags <= _PRONOUN_TAGS:
                    continue  # no tense nor person before a pronoun: "حالكم" (yourselves) is no "ح" + "ا" + "لكم"
                if "O2" in morph and word[-1] == "ج" and not tags & _ACTS:  # the Gulf "you" (f.) only on a verb of
                    continue  # violence ("بذبحج"): most words ending in ج are no object ("اخراج", "منهج", "لتندمج")
                if tags <= _NOUN_TAGS:  # a noun: only its possessive suffix says whose
                    morph = morph & {"P1", "P2", "P3"}
                elif tags & _VERBISH and core != word:  # a listed form with its own prefix: "سنعدم" + كم
                    at = word.rfind(core)
                    if word[:at] in _AR_CONJ:  # after a person prefix its letters are the stem's own: the
                        # present stem "ستهدف" of "يستهدف" (he targets) is no future "س" + "ت" (you)
                        after = word[at + len(core):]  # its ending: "تعدم" + ون is you (plural)
                        morph = morph | _listed_prefix(core, after[:2])
                return word, core, tags | morph
        if word.endswith(_AR_VERB_ONLY):  # "خبرتني", you told me: a verb, not the noun "خبر" (news)
            return word, word, frozenset()
        for lx in self._arabic:  # Snowball's light stemmer: articles and conjunctions on nouns (only nouns: its
            stemmed = lx.stem_tags.get(lx.stem(word))  # stems of verbs are too short to trust)
            if stemmed and stemmed <= _NOUN_TAGS:
                return word, word, stemmed
        return word, word, frozenset()

    def _may_parse(self, word: str) -> bool:
        """Whether any reading of ``word`` as clitics around a stem could find a listed stem: every stem a
        parse yields is the word less at most four letters before and four after (a ta marbuta restored), so
        most words - which hold no stem of the lexicon - are settled by 25 look-ups instead of every parse."""
        cores, n = self._ar_cores, len(word)
        for a in range(min(_AR_MAX_AFFIX, n - 2) + 1):
            for b in range(min(_AR_MAX_AFFIX, n - a - 2) + 1):
                core = word[a:n - b]
                tags = cores.get(core)
                if tags and (len(core) > 2 or tags & _ACTS):  # as the parse loop takes them
                    return True
                if core[-1] == "ت" and core[:-1] + "ه" in cores:
                    return True
        return False

    # -- a post --------------------------------------------------------------------------------------------------
    def analyze(self, folded: str, lang: str | None = None, *, full: bool = False,
                victim: bool = False) -> Analysis:
        """Analyse folded text (:func:`bastion.text.normalize.fold`). ``lang`` is the post's language, if known.

        A cheap pass first: every word's tags (cached per distinct word), phrases and separable verbs looked up
        - enough to decide the gate. A post the gate closes on is returned without its tokens (``full=True``
        keeps them): nothing after the gate reads them, and most posts stop there.

        ``victim``: the detector's second gate. A post with no word of violence and no veiled-threat phrase,
        which only calls on others, offers money or addresses someone with a part of a veiled threat, stays
        closed unless it names someone or something to harm (:data:`~bastion.threats.lexicon.VICTIM_TAGS`).
        Training reads every post the first gate opens (these are negatives there), so the model is the same
        either way; on the evaluation sets this gate closes no post the model would flag."""
        light = _HANDLE_OR_URL.sub(" ", folded) if ("@" in folded or "http" in folded or "www." in folded) \
            else folded
        words = WORDS.findall(light)
        arabic = lang == "ar" or (lang is None and _ARABIC.search(folded) is not None)
        latin_words = [w for w in words if w.isascii()] if arabic else words
        latin = (self.latin_language(latin_words, lang) if latin_words else None) or (
            lang if lang in self._latin else "en")
        lexicons = [lx for lx in (self._latin.get(latin), *(self._arabic if arabic else ())) if lx is not None]
        looked = self._words(latin, arabic, words)
        plain, keys, tagsets = zip(*looked, strict=True) if looked else ((), (), ())  # one transposition in C
        all_tags = frozenset().union(*tagsets)
        addressed = "P2" in all_tags or bool(all_tags & VEILED_PARTS)
        gated = _opens(all_tags)
        victimless = False
        if not gated or (victim and all_tags.isdisjoint(_WORTH_A_PARSE)):
            # a phrase or a separable verb may still open it ("would be a shame if ...", "bring ... um"), or give
            # a post that only calls on others, offers money or addresses someone the violence it lacks
            hits = []
            for lx in lexicons:
                read = _without_conjunctions(lx.phrases, plain) if lx.script == "arabic" else plain
                if not self._gate_anchors[lx.lang].isdisjoint(read):
                    hits += _phrase_hits(lx.phrases, read)
            phrased = all_tags.union(*(t for _, _, t in hits))
            split = any(_split_hit(lx, keys) for lx in lexicons
                        if not self._split_verbs_gating[lx.lang].isdisjoint(keys))
            gated = gated or split or _opens(phrased)
            worth = phrased
            if "HINT" in phrased:
                worth = _hint_worth(phrased, tagsets, hits, _HANDLE.search(folded) is not None)
            victimless = victim and gated and not split and worth.isdisjoint(_WORTH_A_PARSE)
            if victimless:
                gated = False  # a call, a bounty or the parts of a veiled threat, and no one to harm
        lang_out = "ar" if arabic else latin
        if not gated and not full:
            return Analysis(lang=lang_out, tokens=(), quotes=(), gated=False, addressed=addressed,
                            victimless=victimless)
        tokens, quotes = self._tokens(folded, latin, arabic)
        tokens = self._phrases(tokens, lexicons)
        if arabic:
            tokens = _arabic_consequences(_arabic_optatives(tokens))
        else:
            tokens = _imperatives(tokens, latin)
            if latin == "en":
                tokens = _english_neighbours(tokens)
            tokens = _optatives(tokens)
            if latin == "de":
                tokens = _german_formal_you(tokens)
        tokens, quotes = _attributed_after(tokens, quotes)
        tokens, quotes = _adopted(tokens, quotes)
        if not gated:
            gated = any(t.tags & GATE_TAGS for t in tokens)
        return Analysis(lang=lang_out, tokens=tuple(tokens), quotes=tuple(quotes), gated=gated, addressed=addressed)

    def _tokens(self, folded: str, latin: str, arabic: bool) -> tuple[list[Token], list[tuple[int, int]]]:
        """Tokens (words with their tags, punctuation, quotation marks, mentions as ``@``) and the quotations'
        insides, in one pass over the text. The words of handles and links are left out."""
        handles = [(m.start(), m.end(), m.group(0)[0]) for m in _HANDLE_OR_URL.finditer(folded)] \
            if ("@" in folded or "http" in folded or "www." in folded) else []
        tags_at = [(m.start(), m.end()) for m in _HASHTAG_SPAN.finditer(folded)] if "#" in folded else []
        cache = self._cache.get(latin)
        get = cache.get if cache is not None and not arabic else None
        word = self._word
        tokens: list[Token] = []
        sentence = 0
        in_quote = False
        quote_start = 0
        quotes: list[tuple[int, int]] = []
        new = _new_token
        h = 0
        scan = folded  # the text as tokenised: straight single quotes that pair read as quotation marks
        pairs = _straight_quotations(folded) if "'" in folded else []
        if pairs:
            chars = list(folded)  # one character for another: the offsets stay
            for a, b in pairs:
                chars[a], chars[b] = "“", "”"
            scan = "".join(chars)
        for m in _TOKEN.finditer(scan):
            start, end = m.span()
            if handles:
                while h < len(handles) and handles[h][1] <= start:
                    h += 1
                if h < len(handles) and handles[h][0] <= start < handles[h][1]:
                    if handles[h][2] == "@" and start == handles[h][0] + 1:
                        tokens.append(new(Token, (handles[h][0], handles[h][1], "@", "@", _MENTION_TAG, in_quote,
                                                  sentence, "")))
                    continue
            kind = m.lastgroup
            text = m.group()
            if kind == "w" or kind == "s" or kind == "y":  # words, spaced-out words, symbols (🔪, $)
                looked = get(text) if get is not None else None
                if looked is None:
                    looked = word("ar" if arabic and not text.isascii() and _ARABIC.match(text) else latin, text)
                plain, key, tags = looked
                if tags and tags_at and any(a < start < b for a, b in tags_at):
                    tags = tags | _HASHTAG_TAG
                    if arabic and any(start == a + 1 for a, _ in tags_at):
                        if _may_command(text, tags):
                            # a hashtag that opens with a plural verb is a call ("#قاطعوا_...", boycott!); its
                            # imperative and past tense are written alike
                            tags = (tags - _PAST_P3) | _IMP_P2
                        if "IMP" in tags and tags & _ACTS:  # a call to violence is the author's own, as if
                            tags -= _HASHTAG_TAG  # written out ("انشروا الوسم: #أعدموا_الوزير"), not a topic's tag
                tokens.append(new(Token, (start, end, plain, key, tags, in_quote, sentence, "")))
            elif kind == "p":
                p = "\n" if text == "<lf>" else (text.strip()[:1] or "\n")
                tag = PUNCT_TAGS.get(p, "<,>")
                tokens.append(new(Token, (start, end, p, p, _NO_TAGS, in_quote, sentence, tag)))
                if tag in ("<.>", "<?>", "<!>"):
                    sentence += 1
            elif kind == "c":
                if in_quote and folded[quote_start - 1] == "‘":  # closes the ‘ that opened the quotation
                    quotes.append((quote_start, start))
                    in_quote = False
                    tokens.append(new(Token, (start, end, text, text, _NO_TAGS, False, sentence, "<Q>")))
            elif kind == "q":
                if text == "”" and not in_quote and not quotes and tokens:
                    # a closing mark with no opening one before it: the text up to it was the quotation ('... since
                    # March 2011,” said one Syrian'), not the start of one that runs to the end
                    tokens = [t if t.punct else t._replace(quoted=True) for t in tokens]
                    quotes.append((tokens[0].start, start))
                    tokens.append(new(Token, (start, end, text, text, _NO_TAGS, False, sentence, "<Q>")))
                    continue
                if in_quote:
                    quotes.append((quote_start, start))
                else:
                    quote_start = end
                in_quote = not in_quote
                tokens.append(new(Token, (start, end, text, text, _NO_TAGS, False, sentence, "<Q>")))
        if in_quote:  # an unclosed quotation runs to the end
            quotes.append((quote_start, len(folded)))
        return tokens, quotes

    def _phrases(self, tokens: list[Token], lexicons: Sequence[Lexicon]) -> list[Token]:
        """Read multi-word phrases as one token with the phrase's tags, and separable verbs as their verb."""
        out = list(tokens)
        for lx in lexicons:
            if lx.phrases:
                norms: Sequence[str] = [t.norm for t in out]
                if lx.script == "arabic":
                    norms = _without_conjunctions(lx.phrases, norms)
                if not self._phrase_firsts[lx.lang].isdisjoint(norms):
                    plain = [None if t.punct == "<,>" else ("" if t.punct else w)
                             for t, w in zip(out, norms, strict=True)]
                    hits = _phrase_hits(lx.phrases, plain)
                    if hits:
                        out = _merge(out, hits)
            if lx.split and not lx.split.keys().isdisjoint([t.key for t in out]):
                out = self._split_verbs(out, lx)
        return out

    @staticmethod
    def _split_verbs(tokens: list[Token], lx: Lexicon) -> list[Token]:
        out = list(tokens)
        for i, tok in enumerate(out):
            pairs = lx.split.get(tok.key)
            if not pairs or tok.tags & _FIGURATIVE:  # an idiom's verb takes no particle: "break your heart ... you"
                continue
            for j in range(i + 1, min(len(out), i + 10)):
                other = out[j]
                if other.punct in ("<.>", "<?>", "<!>"):
                    break
                for particle, tags in pairs:
                    if other.key == particle:
                        out[i] = Token(tok.start, tok.end, tok.norm, tok.key, tok.tags | tags, tok.quoted,
                                       tok.sentence)
                        break
        return out


#: Words after which a verb still opens its clause ("and kill them", "then burn it", "go and hang them").
_CLAUSE_OPENERS = frozenset({"and", "then", "just", "now", "so", "go", "und", "dann", "jetzt", "los", "einfach"})
_SUBJECTS = frozenset({"ich", "wir", "du", "ihr", "er", "sie", "es", "man", "i", "we", "you", "he", "she", "they"})
_IMPERATIVE_CANDIDATES = frozenset({"KILL", "HURT", "DESTROY", "MOVE"})
_NOT_IMPERATIVE = frozenset({"ED", "ING", "PART", "INF"})


_EN_IRREGULAR_PAST = frozenset({"shot", "hung", "slain", "beaten", "burnt", "blown", "struck", "bled", "broken",
                                "killed", "blew", "slew", "threw", "tore", "fought"})
_OPENING_PUNCT = frozenset({"<.>", "<!>", "<?>", "<:>", "<,>", "<Q>"})
#: English words of violence that are nouns by their ending ("explosion", "execution", "assassination", "carnage")
_EN_NOUN_ENDINGS = ("tion", "sion", "ment", "ence", "ance", "age", "ness")


def _vocative(tokens: Sequence[Token], j: int) -> bool:
    """Whether the word at ``j`` calls on others at the head of its clause ("brothers kill them", "my brothers
    ...", "@handle soldiers ..."), not a subject with words of its own before it: "Israeli troops kill a
    militant", "IS fighters attack a town" are headlines."""
    if "VOC" not in tokens[j].tags:
        return False
    if j == 0:
        return True
    before = tokens[j - 1]
    return before.punct in _OPENING_PUNCT or before.norm in _VOCATIVE_LEADS or not before.tags.isdisjoint(
        _POSS_OR_MENTION)


#: words that may stand before a call on others: "O soldiers", "يا اخوة", "ihr Brüder"
_VOCATIVE_LEADS = frozenset({"o", "oh", "ya", "يا", "ايها", "ihr", "all"})
_POSS_OR_MENTION = frozenset({"POSS", "MENTION"})


def _imperatives(tokens: list[Token], lang: str) -> list[Token]:
    """Mark a verb of violence or movement that opens a clause in its base form as an imperative ("Stab them.",
    "go and hang them", "stecht sie ab"): English bare forms, German forms in -t or the bare stem, not followed
    by a subject pronoun (German puts the verb first in questions and after a fronted time: "Morgen erschießen
    wir ...")."""
    out = list(tokens)
    for i, tok in enumerate(out):
        if tok.punct or not tok.tags & _IMPERATIVE_CANDIDATES or tok.tags & _NOT_IMPERATIVE \
                or (tok.tags & PERSON_TAGS and "OBJ" not in tok.tags):  # a phrase's pronoun object ("gas them")
            continue
        j = i - 1  # a reply's handles before the verb leave it at the head ("@user Kill them all.")
        while j >= 0 and not out[j].punct and (out[j].norm in _CLAUSE_OPENERS or "MENTION" in out[j].tags):
            j -= 1
        at_head = j < 0 or out[j].punct in _OPENING_PUNCT
        # after a call on others with no comma, a German verb in -en is the plural noun's own ("Soldaten töten
        # fünf Kämpfer": soldiers kill); the command to them ends in -t ("Brüder tötet sie")
        opens = at_head or (_vocative(out, j) and not (lang == "de" and tok.norm.endswith("en")))
        # "Go to their office and shoot ...", "go and set fire to ...": a verb joined by "and" to an imperative is
        # one too
        joined = i > 0 and out[i - 1].norm.rpartition(" ")[2] in ("and", "und", "then", "dann") and any(
            "IMP" in t.tags for t in out[max(0, i - 12): i] if t.sentence == tok.sentence)
        if not (opens or joined):
            continue
        nxt = next((t for t in out[i + 1:] if not t.punct), None)
        if nxt is not None and nxt.norm in _SUBJECTS and not (lang == "en" and nxt.norm == "you") \
                and not (lang == "de" and nxt.norm == "sie" and tok.norm.endswith("t")
                         and not any(t.punct == "<?>" for t in out[i + 1:] if t.sentence == tok.sentence)):
            # (German "sie" after a verb in -t that asks nothing is its object: "Treibt sie zusammen!")
            continue
        if lang == "en" and ((tok.norm.endswith("s") and not tok.norm.endswith("ss"))
                             or tok.norm.partition(" ")[0] in _EN_IRREGULAR_PAST):  # a phrase's past: "blew up"
            continue
        if lang == "en" and (tok.norm.endswith(_EN_NOUN_ENDINGS) or (nxt is not None and (
                nxt.norm in ("of", "on") or _en_past(nxt)))):
            continue  # a noun heads a headline: "Explosion of 2 booby-trapped homes ...", "Ambush on ... elements",
            # or is the subject of the past tense after it: "Battle delivered 20 dead bodies ..."
        out[i] = Token(tok.start, tok.end, tok.norm, tok.key, tok.tags | {"IMP"}, tok.quoted, tok.sentence)
    return out


#: Tags of English words that take an object: acts, movements and the parts of veiled threats done to someone
_TAKES_OBJECT = frozenset({"KILL", "HURT", "DESTROY", "MOVE", "WATCH", "KNOW"})


def _english_neighbours(tokens: list[Token]) -> list[Token]:
    """What the word before an English word says of it, in one pass. "you" right after a verb of violence or
    movement is its object ("I'm going to find you and shoot you": I shoot), as "them" always is; elsewhere it may
    be the subject ("you will pay"). "no" right before a noun of violence negates the act itself ("no assault
    should take place"), as it does no other noun's ("no wall will protect them")."""
    out = tokens
    for i in range(1, len(tokens)):
        tok, prev = tokens[i], tokens[i - 1]
        if prev.punct:
            continue
        if tok.norm == "you" and prev.tags & _TAKES_OBJECT and "OBJ" not in tok.tags:
            extra = _OBJ_TAG
        elif prev.norm == "no" and tok.tags & _ACTS and "NEG" not in tok.tags:
            extra = _NEG_TAG
        else:
            continue
        if out is tokens:
            out = list(tokens)
        out[i] = tok._replace(tags=tok.tags | extra)
    return out


_NEG_TAG = frozenset({"NEG"})


_TITLES = frozenset({"frau", "herr", "herrn"})
_FORMAL = frozenset({"sie", "ihnen"})


#: Words that open a sentence pointing back at what came before ("That was the chant of ...", "هكذا هتف", "Das
#: schrieb ...").
_BACK = frozenset({"that", "this", "these", "those", "thats", "such", "so", "das", "dies", "diese", "dieses",
                   "هذا", "هذه", "هكذا", "ذلك", "تلك"})


def _straight_quotations(text: str) -> list[tuple[int, int]]:
    """Straight single quotes that pair as quotation marks, (opening, closing) offsets: an opening quote and the
    next closing one on its line with two words at least between them ("IS supporters: 'Your engineers will not be
    safe.'", "'We don't forget.'"). An apostrophe ("employees' blood") has no partner. One pass: linear in the
    text, whatever its quotes."""
    out: list[tuple[int, int]] = []
    opened = -1
    seen = 0  # the text up to here has been looked at for line breaks
    for m in _STRAIGHT_QUOTE.finditer(text):
        at = m.start()
        if opened >= 0 and "\n" in text[seen:at]:
            opened = -1  # a quotation stays on its line
        seen = at
        if m.lastgroup == "o":
            if opened < 0:
                opened = at
        elif opened >= 0:
            if any(c.isspace() for c in text[opened + 1:at]):
                out.append((opened, at))
            opened = -1
    return out


#: words that may finish an elliptical commitment after its future ("we will do it", "das werden wir tun")
_PRO_VERBS = frozenset({"do", "it", "that", "so", "exactly", "too", "as", "well", "just", "tun", "machen", "es", "das",
                        "genau", "auch"})
_ADOPTION_BLOCKS = frozenset({"CONDEMN", "NEG", "NOONE", "LAUGH"})
#: words the lexicons list as endorsement that intensify whatever follows them ("this is definitely terrorism"):
#: no agreement with a quoted speaker on their own
_WEAK_ENDORSEMENT = frozenset({"finally", "absolutely", "definitely", "endlich", "absolut", "اكيد", "نعم", "اخيرا",
                               "ايوه", "ايوا"})
_CLAUSE_ENDS = frozenset({"<.>", "<!>", "<?>", "<,>", "<:>"})


def _adopted(tokens: list[Token], quotes: list[tuple[int, int]]) -> tuple[list[Token], list[tuple[int, int]]]:
    """A threat the author quotes or reports and then takes up is the author's own. After the quoted or reported
    words of violence, in the author's own words and with no condemnation, negation or laughter there:

    - agreement with their speaker ("he is right", "exactly", "er hat recht", "صدقوا", "افعلوها") makes them the
      author's: a quotation is no longer one, a verb of saying before reported words no longer reports them;
    - an elliptical commitment ("we will.", "we will do it", "genau das werden wir tun") takes the quoted act
      for its verb: the act is read again after it, in the author's voice ("we will [kill them]").

    The issue's own example: "he said 'kill them', and he is right, we will" issues the threat. A commitment with
    a verb of its own ("we will stand together") takes up nothing."""
    harm = [i for i, t in enumerate(tokens) if not t.punct and not t.tags.isdisjoint(HARM_TAGS)
            and (t.quoted or not quotes)]
    if not harm:
        return tokens, quotes
    last = harm[-1]
    if quotes:
        start = quotes[-1][1]
        after_at = [i for i, t in enumerate(tokens) if not t.quoted and t.start >= start and t.punct != "<Q>"]
        saying: list[int] = []
    else:  # words reported after a verb of saying in the act's sentence, without quotation marks
        sentence = tokens[last].sentence
        saying = [i for i in range(last) if tokens[i].sentence == sentence and "IMP" not in tokens[i].tags
                  and not tokens[i].tags.isdisjoint(_REPORTING)]
        if not saying:
            return tokens, quotes
        j = last + 1  # the author's words start where the act's clause ends
        while j < len(tokens) and tokens[j].punct not in _CLAUSE_ENDS:
            j += 1
        after_at = list(range(j, len(tokens)))
    after = [tokens[i] for i in after_at]
    if not after or any(not t.tags.isdisjoint(_ADOPTION_BLOCKS) or not t.tags.isdisjoint(HARM_TAGS) for t in after):
        return tokens, quotes  # the author's own act, if any, is read as it stands
    agrees = any("ENDORSE" in t.tags and t.norm not in _WEAK_ENDORSEMENT for t in after)
    commitment = _elliptical_commitment(after)
    if not agrees and commitment is None:
        return tokens, quotes
    out = list(tokens)
    if agrees:
        first = next((t for t in tokens if t.quoted), None)
        reporting, authors = set(saying), set(after_at)
        for i, t in enumerate(out):
            if t.quoted:
                out[i] = t._replace(quoted=False)
            elif first is not None and t.start < first.start and t.sentence == first.sentence \
                    and not t.tags.isdisjoint(_REPORTING):
                out[i] = t._replace(tags=t.tags - _REPORTING)  # the saying that introduced the quotation
            elif i in reporting:
                out[i] = t._replace(tags=t.tags - _REPORTING)
            elif i in authors and "ENDORSE" in t.tags:
                out[i] = t._replace(tags=t.tags - _ENDORSE)  # the agreement is the adoption, read above
        quotes = []
    if commitment is not None:
        end = commitment
        at = after_at[end] if end < len(after) else len(out)
        voice = out[at - 1]  # the commitment's last word: the copies stand, empty, where it ends
        act = []
        for t in tokens[last:]:
            if t.punct or t.quoted != tokens[last].quoted:
                break
            act.append(Token(voice.end, voice.end, t.norm, t.key, t.tags - _IMP_P2 if t is tokens[last] else t.tags,
                             False, voice.sentence))
        out[at:at] = act
    return out, quotes


def _elliptical_commitment(words: Sequence[Token]) -> int | None:
    """A clause of the author's future with a first-person subject and no verb of its own: "we will", "and so we
    will do it", "das werden wir tun": the index of the word after the clause; None if there is none."""
    for i, t in enumerate(words):
        if t.punct or t.tags.isdisjoint(_FUTURE_OR_INTENT):
            continue
        j = i + 1
        while j < len(words) and not words[j].punct and (words[j].norm in _PRO_VERBS or "P1" in words[j].tags):
            j += 1
        if j < len(words) and words[j].punct not in _CLAUSE_ENDS:
            continue  # a verb of its own follows
        k = i - 1
        while k >= 0 and not words[k].punct and k >= i - 3:
            k -= 1
        if any("P1" in w.tags and "POSS" not in w.tags for w in words[k + 1: j]):
            return j
    return None


_FUTURE_OR_INTENT = frozenset({"FUT", "INTENT"})


def _attributed_after(tokens: list[Token], quotes: list[tuple[int, int]]
                      ) -> tuple[list[Token], list[tuple[int, int]]]:
    """Words quoted without quotation marks and attributed after them: "Death to them... kill them all. That was the
    chant of dozens of settlers", "... هذا ما كان هتاف عشرات". A sentence that opens with a word pointing back and
    names a saying within its first words, not the author's own ("that's what I said"), makes the sentences before
    it a quotation, unless a quotation marked as such comes before it."""
    for i, tok in enumerate(tokens):
        if tok.sentence == 0 or tok.punct or tok.norm not in _BACK:
            continue
        if i > 0 and tokens[i - 1].sentence == tok.sentence and not tokens[i - 1].punct:
            continue  # not the sentence's first word
        words = [t for t in tokens[i + 1:i + 8] if t.sentence == tok.sentence and not t.punct]
        if not any("REPORT" in t.tags for t in words[:5]) or any("P1" in t.tags for t in words):
            continue
        before = [t for t in tokens[:i] if not t.punct]
        if not before or any(t.quoted for t in tokens[:i]):  # marked quotations say themselves what is quoted
            return tokens, quotes
        quoted = [t._replace(quoted=True) if t.sentence < tok.sentence else t for t in tokens]
        return quoted, [(before[0].start, before[-1].end), *quotes]
    return _attributed_after_comma(tokens, quotes)


#: Words that open a clause of justification, not of attribution: "..., as Allah says", "..., wie er sagte"
_AS = frozenset({"as", "like", "wie", "كما", "مثلما", "مثل"})


def _attributed_after_comma(tokens: list[Token], quotes: list[tuple[int, int]]
                            ) -> tuple[list[Token], list[tuple[int, int]]]:
    """The same within a sentence: its last clause, after a comma, is a short attribution ("We will kill you all,
    the militant said", "..., sagte der Mann", "...، قال المسلح") - a saying in its first four words, no one of the
    author's ("..., I said"), no violence of its own, no "as" of a justification ("..., as Allah says") - and makes
    the clauses before it a quotation."""
    n = len(tokens)
    for i, tok in enumerate(tokens):
        if tok.punct != "<,>":
            continue
        clause: list[Token] = []
        j = i + 1
        while j < n and tokens[j].sentence == tok.sentence and tokens[j].punct not in ("<.>", "<?>", "<!>", "<,>"):
            clause.append(tokens[j])
            j += 1
        if j < n and tokens[j].punct == "<,>" and tokens[j].sentence == tok.sentence:
            continue  # not the sentence's last clause
        words = [t for t in clause if not t.punct]
        if not words or len(words) > 8 or not _AS.isdisjoint(t.norm for t in words[:2]):  # "just like you said"
            continue
        if not any("REPORT" in t.tags for t in words[:4]) or any(t.tags & (HARM_TAGS | {"P1"}) for t in words):
            continue
        before = [t for t in tokens[:i] if not t.punct and t.sentence == tok.sentence]
        if not before or any(t.quoted for t in tokens[:i]):
            return tokens, quotes
        quoted = [t._replace(quoted=True) if k < i and t.sentence == tok.sentence else t for k, t in enumerate(tokens)]
        return quoted, [(before[0].start, before[-1].end), *quotes]
    return tokens, quotes


def _german_formal_you(tokens: list[Token]) -> list[Token]:
    """German "Sie" is "you" when the sentence addresses someone by title ("Sie werden das Jahr nicht überleben,
    Frau Kuhnert"); folded text has lost the capital that says so. The title is an address after a comma or at
    the sentence's start ("Frau Kuhnert, Sie ..."), not a subject ("Frau Kuhnert sagt, sie ...")."""
    addressed = {t.sentence for i, t in enumerate(tokens) if t.norm in _TITLES and (
        (i > 0 and tokens[i - 1].punct == "<,>") or (i + 2 < len(tokens) and tokens[i + 2].punct == "<,>"))}
    if not addressed:
        return tokens
    return [t._replace(tags=(t.tags - PERSON_TAGS) | _P2_TAG) if t.norm in _FORMAL and t.sentence in addressed
            else t for t in tokens]


_OPTATIVE = frozenset({"may", "möge", "mögen"})


def _optatives(tokens: list[Token]) -> list[Token]:
    """"May they burn", "Möge er verrecken": a modal opening its sentence is a wish. And wanting someone (to
    see someone) in a state is a wish about them, not the speaker's intent to act: "I want them all dead",
    "I want to see every one of them dead", "Ich will sie alle tot sehen" - "I want to kill them" stays intent."""
    out = list(tokens)
    for i, tok in enumerate(out):
        if tok.norm in _OPTATIVE and _after_opening(out, i):
            out[i] = Token(tok.start, tok.end, tok.norm, tok.key, tok.tags | {"WISH"}, tok.quoted, tok.sentence)
        elif "INTENT" in tok.tags and tok.norm in _WANTING and _wants_someone(out, i):
            out[i] = _wished(tok, _INTENT_TAG)
        elif tok.norm in _PRAYING and any(t.norm in _THAT for t in out[i + 1: i + 8] if t.sentence == tok.sentence):
            # praying that something happen is wishing it ("Ich bete jeden Tag, dass ..."), as "I pray that" is
            out[i] = _wished(tok, _PRAYER_TAG)
    return out


def _wished(tok: Token, instead: frozenset[str]) -> Token:
    """The word read as a wish instead of an intent or a prayer: wanting someone dead, praying that they die
    (the reading the Latin and the Arabic passes share)."""
    return tok._replace(tags=(tok.tags - instead) | _WISH_TAG)


def _en_past(tok: Token) -> bool:
    """An English past tense with no tag of its own that names what it may also describe ("delivered", "broke";
    not "armed", "wounded": "Kill armed men")."""
    w = tok.norm
    return not tok.punct and " " not in w and (w in _EN_IRREGULAR_PAST or (
        len(w) > 5 and w.endswith("ed") and not w.endswith("eed") and not tok.tags))


def _after_opening(tokens: Sequence[Token], i: int) -> bool:
    """Whether the word at ``i`` opens its sentence, a reply's handles before it aside ("@user May they burn")."""
    j = i - 1
    while j >= 0 and "MENTION" in tokens[j].tags:
        j -= 1
    return j < 0 or tokens[j].punct in _OPENING_PUNCT


_PRAYING = frozenset({"bete", "beten", "betet", "pray", "prays", "praying"})
_THAT = frozenset({"dass", "daß", "that"})


#: verbs of wanting (not planning: "I plan them a surprise" is no wish) and of seeing
_WANTING = frozenset({"want", "wants", "wanna", "will", "wollen", "willst", "wollt", "möchte", "möchten"})
_SEEING = frozenset({"to", "see", "zu", "sehen"})
_SOMEONE = frozenset({"OBJ", "HUMAN", "GEN", "P2", "P3"})


def _wants_someone(tokens: Sequence[Token], i: int) -> bool:
    """Whether the verb of wanting at ``i`` takes a person as its object, directly or after "to see"."""
    for tok in tokens[i + 1: i + 4]:
        if tok.punct:
            return False
        if tok.norm in _SEEING:
            continue
        return bool(tok.tags & _SOMEONE) and not tok.tags & EVENT_TAGS
    return False


#: Tokens are built in bulk for every post that passes the gate: ``tuple.__new__`` skips the named tuple's own
#: Python-level constructor.
_new_token = tuple.__new__
#: What makes a post worth a parse by itself: violence, a veiled-threat phrase, or someone to harm.
_WORTH_A_PARSE: frozenset[str] = HARM_TAGS | {"VEIL"} | VICTIM_TAGS


def _hint_worth(phrased: frozenset[str], tagsets: Sequence[frozenset[str]],
                hits: Sequence[tuple[int, int, frozenset[str]]], handle: bool) -> frozenset[str]:
    """What makes a post with a phrase of everyday readings worth a parse ("enjoy it while you can", "lovely
    family"): someone to harm named outside such phrases, or an account it is said to (a handle); the phrase's
    own words name no victim."""
    inside = {i for a, b, t in hits if "HINT" in t for i in range(a, b)}
    outside = frozenset().union(*(t for i, t in enumerate(tagsets) if i not in inside),
                                *(t for _, _, t in hits if "HINT" not in t))
    named = outside & VICTIM_TAGS or (_SOMEONE if handle else frozenset())
    return (phrased - VICTIM_TAGS) | named


def _opens(tags: frozenset[str]) -> bool:
    """The first gate, on a post's tags: a word of violence, a veiled-threat phrase, a call on others or a bounty
    - or a word that addresses the reader with a part of a veiled threat."""
    return bool(tags & GATE_TAGS) or ("P2" in tags and bool(tags & VEILED_PARTS))


#: Every tag the gates read off a post: a phrase with none of them cannot change whether the post is parsed.
_GATE_READS: frozenset[str] = GATE_TAGS | VEILED_PARTS | {"P2"} | _WORTH_A_PARSE


def _anchors(lx: Lexicon, wanted: frozenset[str]) -> frozenset[str]:
    """One word of each phrase of ``lx`` whose tags meet ``wanted``: a text holding none of these words holds
    none of those phrases. Each phrase's rarest-looking word: not a function word, the longest."""
    return frozenset(max(words, key=lambda w: (w not in lx.stop, len(w), w))
                     for words, tags in lx.phrase_list() if tags & wanted)


_NO_TAGS: frozenset[str] = frozenset()
_HASHTAG_TAG = frozenset({"HASHTAG"})
_P2_TAG = frozenset({"P2"})
_OBJ_TAG = frozenset({"OBJ"})
_MENTION_TAG = frozenset({"MENTION"})


_AR_PLURAL_VERB = ("وا", "وه", "وهم", "وها")
_AR_COMMANDABLE = EVENT_TAGS | {"MOVE", "REPORT", "WEAPON"}


_PAST_P3 = frozenset({"PAST", "P3"})
_IMP_P2 = frozenset({"IMP", "P2"})


def _may_command(word: str, tags: frozenset[str]) -> bool:
    """Whether an Arabic word may be a plural command: a plural verb of violence or movement read as a past
    tense or with no person (its imperative is written alike); its context decides."""
    return word.endswith(_AR_PLURAL_VERB) and bool(tags & _AR_COMMANDABLE) and (
        tags >= _PAST_P3 or tags.isdisjoint(PERSON_TAGS))


#: "I/we see" (رأى, dialect شاف) with a pronoun object: أراهم, نشوفكم
_AR_SEE_SOMEONE = re.compile(r"[ان](?:را|ري|شوف)(?:هم|هن|كم|كن|ه|ها|ك)$")


#: the prefix "ت" of a verb (after a conjunction, the future "س" or the lam of purpose): "you", and "she"
_AR_T_PREFIX = re.compile(r"[وف]?[سل]?ت")
_AR_VOCATIVES = frozenset({"يا", "ايها", "ايتها"})
_AR_I_PRAY = frozenset({"ادعو", "ندعو"})
_WISH_TAG = frozenset({"WISH"})
_PRAYER_TAG = frozenset({"PRAYER"})
_INTENT_TAG = frozenset({"INTENT"})


def _third_person_she(tokens: Sequence[Token], i: int) -> bool:
    """Whether the verb at ``i``, whose prefix "ت" reads as "you", is "she" instead: right after a definite noun of
    its clause, its subject ("الميليشيات تستهدف منازل ...", the militias target homes; Arabic makes the verb of a
    plural of things feminine singular), unless that noun is called on ("يا أيها الكافر ستموت"). A plural ending
    ("ستموتون") or an object suffix ("ستذبحكم") says whom it means itself."""
    tok, prev = tokens[i], tokens[i - 1]
    if prev.punct or prev.sentence != tok.sentence or not tok.tags & EVENT_TAGS or not tok.tags.isdisjoint(_NOT_SHE):
        return False
    if not _AR_T_PREFIX.match(tok.norm) or tok.norm.endswith(("ون", "وا", "ين", "كم", "ك", "كن")):
        return False
    definite = prev.norm.startswith(("ال", "وال", "بال", "فال", "لل")) and len(prev.norm) > 4
    return (definite or prev.norm in _AR_FEMININE_NAMES) and \
        all(t.norm not in _AR_VOCATIVES for t in tokens[max(0, i - 4): i - 1])


_NOT_SHE = frozenset({"O2", "IMP", "P1", "P3", "MENTION"})
#: names of countries and capitals, feminine in Arabic and written without the article: "أمريكا تدمر العرب" is
#: America destroying, not "you"
_AR_FEMININE_NAMES = frozenset({"امريكا", "اميركا", "اسراييل", "روسيا", "ايران", "تركيا", "فرنسا", "بريطانيا",
                                "المانيا", "اوروبا", "مصر", "سوريا", "قطر", "واشنطن", "موسكو", "طهران", "دمشق",
                                "بغداد", "باريس", "لندن"})


#: what may follow the "ف" that opens a condition's consequence: a pronoun, a particle of the future or of negation
_AR_AFTER_FA = frozenset({"هم", "هو", "هي", "انت", "انتم", "انا", "نحن", "انه", "انهم", "انك", "انكم", "سوف", "لن",
                          "قد", "ان"})


def _arabic_consequences(tokens: list[Token]) -> list[Token]:
    """Arabic marks where a condition ends with the "ف" that opens its consequence ("إذا رأيت أحدا منهم الليلة فهم
    أموات": if I see one of them tonight, then they are dead), where English writes a comma: a comma is put
    there (empty, at the "ف"), so the consequence is read as English's is. Only after a conditional word in the
    same sentence, and only before a pronoun, a particle or a verb of the future ("فسنقتلكم")."""
    out: list[Token] = []
    condition = -1  # the sentence of the last conditional word not yet closed
    for tok in tokens:
        if tok.punct:
            if tok.punct in ("<,>", "<.>", "<?>", "<!>"):
                condition = -1
        elif "COND" in tok.tags:
            condition = tok.sentence
        elif condition == tok.sentence and tok.norm[:1] == "ف" and (
                tok.norm[1:] in _AR_AFTER_FA or (len(tok.norm) > 4 and tok.norm[1] == "س" and tok.norm[2] in "نيتا")):
            out.append(Token(tok.start, tok.start, ",", ",", _NO_TAGS, tok.quoted, tok.sentence, "<,>"))
            condition = -1
        out.append(tok)
    return out


def _arabic_optatives(tokens: list[Token]) -> list[Token]:
    """"الموت لـ..." (death to ...): the noun of death before a word that opens with the preposition lam. And a
    plural verb without prefix right after a call ("يا إخوة، غردوا"): an imperative, not a past tense - the two
    are written alike for many verbs."""
    out = list(tokens)
    for i, tok in enumerate(out):
        nxt = out[i + 1] if i + 1 < len(out) else None
        if nxt is not None and tok.norm in ("الموت", "موت") and not nxt.punct and nxt.norm.startswith("ل") \
                and len(nxt.norm) > 2:
            out[i] = tok._replace(tags=tok.tags | {"WISH", "DEATH"})
        elif "INTENT" in tok.tags and any(_AR_SEE_SOMEONE.match(t.norm) for t in out[i + 1: i + 3] if not t.punct):
            # wanting to see someone (in a state) is a wish about them: "أريد أن أراهم أمواتا"
            out[i] = _wished(tok, _INTENT_TAG)
        elif tok.norm in _AR_I_PRAY and any(t.norm == "ان" for t in out[i + 1: i + 4] if not t.punct):
            # praying that something happen is wishing it, as English "pray that": "أدعو كل يوم أن ..."
            out[i] = _wished(tok, _PRAYER_TAG)
        elif i and "P2" in tok.tags and _third_person_she(out, i):
            out[i] = tok._replace(tags=(tok.tags - _P2_TAG) | _P3_ONLY)
        elif i and _may_command(tok.norm, tok.tags) and (
                any("VOC" in t.tags for t in out[max(0, i - 3): i] if t.sentence == tok.sentence)
                or any("IMP" in t.tags for t in out[max(0, i - 15): i])):
            # after a call, or after another command ("اعرفوا أين يسكنون، ثم صفّوهم"): a command too
            out[i] = tok._replace(tags=(tok.tags - _PAST_P3) | _IMP_P2)
    return out


def _without_conjunctions(trie: Mapping[str, Any], words: Sequence[str]) -> Sequence[str]:
    """Arabic words that open a phrase only without the conjunction written onto them ("و", and; "ف", so), read
    without it: "ومش عم نمزح" is "and" + "مش عم نمزح" (we are not joking). The words themselves if none does."""
    out: list[str] | None = None
    for i, w in enumerate(words):
        if len(w) > 2 and w[0] in "وف" and w[1:] in trie and w not in trie:
            if out is None:
                out = list(words)
            out[i] = w[1:]
    return words if out is None else out


def _phrase_hits(trie: Mapping[str, Any], words: Sequence[str | None]) -> list[tuple[int, int, frozenset[str]]]:
    """Longest phrases of ``trie`` in ``words``, left to right, without overlap: (start, end, tags). ``None``
    entries (commas) are skipped inside a phrase ("wir wissen, wo"); empty ones (other punctuation) end it."""
    hits: list[tuple[int, int, frozenset[str]]] = []
    n = len(words)
    taken = 0  # the end of the last phrase found: phrases do not overlap
    for i in compress(range(n), map(trie.__contains__, words)):  # only a phrase's first word starts one
        word = words[i]
        if i < taken or not word:
            continue
        node = trie[word]
        best: tuple[int, frozenset[str]] | None = None
        j = i + 1
        while node is not None:
            tags = node.get(TAGS_KEY)
            if tags is not None:
                best = (j, tags)
            while j < n and words[j] is None:
                j += 1
            if j >= n or not words[j]:
                break
            node = node.get(words[j])
            j += 1
        if best is not None:
            hits.append((i, best[0], best[1]))
            taken = best[0]
    return hits


def _split_hit(lx: Lexicon, keys: Sequence[str]) -> bool:
    """Whether a separable verb of violence and its particle both occur (the gate's cheap check)."""
    for i, k in enumerate(keys):
        for particle, tags in lx.split.get(k, ()):
            if tags & GATE_TAGS and particle in keys[i + 1: i + 10]:
                return True
    return False


def _merge(tokens: list[Token], hits: list[tuple[int, int, frozenset[str]]]) -> list[Token]:
    out: list[Token] = []
    prev = 0
    for start, end, tags in hits:
        out.extend(tokens[prev:start])
        span = [t for t in tokens[start:end] if not t.punct]
        # a phrase keeps its words' roles (who, what, to whom, when) but not their frames: "would be a shame
        # if" is no condemnation, "nothing will stop us" no negation, "killing me" no killing
        inner = frozenset().union(*(t.tags for t in span)) & _STRUCTURAL
        if tags & _FIGURATIVE or tags <= _WHEN or tags <= _PEOPLE or tags <= _WHERE:
            # a time is no act ("فجر اليوم": at dawn today, or: he blew up); nor are people named by what befell
            # them ("the dead"), nor is a place a weapon ("your van")
            inner -= HARM_TAGS
        if tags & _REPORTING or tags <= _PEOPLE:  # people named by their state owe nothing: "those in need"
            inner -= _MODALITY
        first = span[0]
        # a pronoun that ends the phrase is its object ("will find you", "watch your back"), never the agent of
        # the act that follows ("I will find you and kill you": I kill) - unless the phrase says who will not
        # be stopped ("nothing will stop us": we act)
        if len(span) > 1 and span[-1].tags & PERSON_TAGS and not first.tags & PERSON_TAGS \
                and not tags & {"STOP", "INTENT", "NEG"}:
            inner |= _OBJ_TAG
        if "HINT" in tags:  # past the gate, a phrase with everyday readings is read as the veiled threat it may be
            tags = (tags - _HINT) | _VEIL
        out.append(Token(first.start, span[-1].end, " ".join(t.norm for t in span), first.key, tags | inner,
                         first.quoted, first.sentence))
        prev = end
    out.extend(tokens[prev:])
    return out


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    """The analyser with the shipped lexicons (built once per process)."""
    return Analyzer()
