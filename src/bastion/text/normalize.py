"""Text normalisation shared by every text detector (propaganda, lexicon, threats).

Why: propagandists and their audiences write the same words many ways - Arabic with or without diacritics,
alef hamza forms and tatweel stretching; handles and slogans with look-alike letters (``lNSlDEWAR`` for
``INSIDEWAR``, Cyrillic ``а`` for Latin ``a``, ``0`` for ``o``); entities escaped by the platform API
(``&amp;``). A model or a lexicon that sees the raw text learns each spelling separately and misses the next
one. :func:`normalize` maps all of them to one reading, masks URLs and mentions (whose exact value is account
identity, not content) and segments hashtags, in a few microseconds per post.

Public API (used by the threats detector too):

* :func:`normalize` -> :class:`NormalizedText` (``text`` for models, ``hashtags``/``mentions``/``urls``,
  ``hashtag_words`` with CamelCase/underscore segmentation);
* :func:`fold` - the character-level folding alone (NFKC, case, Arabic, homoglyphs), no masking;
* :func:`fold_with_offsets` - the same folding plus, for every output character, its offset in the input,
  so matches found on folded text can be reported as spans of the original;
* :func:`skeleton` - a more aggressive folding for matching handles and slogans (digits and ``i``/``l`` look-
  alikes merged, separators dropped);
* :func:`segment_hashtag`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "NormalizedText",
    "fold",
    "fold_with_offsets",
    "normalize",
    "segment_hashtag",
    "skeleton",
]

URL_TOKEN = "httpurl"
MENTION_TOKEN = "@user"

# --- Arabic -----------------------------------------------------------------------------------------------
_ARABIC_MAP: dict[int, str | None] = {
    # alef forms -> bare alef
    0x0622: "\u0627", 0x0623: "\u0627", 0x0625: "\u0627", 0x0671: "\u0627", 0x0672: "\u0627",
    0x0673: "\u0627",
    0x0629: "\u0647",  # ta marbuta -> ha
    0x0649: "\u064a",  # alef maqsura -> ya
    0x06CC: "\u064a",  # Farsi yeh -> ya
    0x06A9: "\u0643",  # keheh -> kaf
    0x0624: "\u0648",  # waw with hamza -> waw
    0x0626: "\u064a",  # ya with hamza -> ya
    0x0640: None,  # tatweel
}
# harakat, Quranic annotation marks, superscript alef
for _cp in (*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE)):
    _ARABIC_MAP[_cp] = None
# Arabic-Indic and extended (Persian) digits -> ASCII
for _i in range(10):
    _ARABIC_MAP[0x0660 + _i] = str(_i)
    _ARABIC_MAP[0x06F0 + _i] = str(_i)

# --- look-alikes (applied after case folding, so only lower-case forms are needed) --------------------------
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ɡ": "g", "ӏ": "l",
    "һ": "h", "ԛ": "q", "ԝ": "w", "ү": "y", "ѵ": "v",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
    # Latin odds and ends
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t",
}
# Zero-width characters that split words invisibly.
_INVISIBLE = {0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None, 0x00AD: None}

_FOLD_TABLE: dict[int, str | None] = {**_ARABIC_MAP, **_INVISIBLE}
_FOLD_TABLE.update({ord(k): v for k, v in _HOMOGLYPHS.items()})
#: characters NFKC rewrites that social text often has: folded one at a time by fold_with_offsets
_COMPAT = re.compile("[\u00a0\u2000-\u206f\ufb00-\ufdff\ufe30-\ufeff\uff00-\uffef]")
#: the characters folding deletes; every other entry of the table maps one character to one character
_DELETED = re.compile("[" + "".join(re.escape(chr(k)) for k, v in _FOLD_TABLE.items() if v is None) + "]+")

# Skeleton: digits and symbols that stand in for letters in handles, i/l/1/| merged.
_SKELETON_TABLE = str.maketrans({
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s", "|": "i",
    "!": "i", "l": "i",
})
_SKELETON_DROP = re.compile(r"[\s_\-.·•*]+")

# I/l look-alikes decided by the case of the rest of the word (before case folding):
#   upper-case I inside an otherwise lower-case word reads as l   (thefIamesofhaqq -> theflamesofhaqq)
#   lower-case l inside an otherwise upper-case word reads as I   (lNSlDEWAR -> INSIDEWAR)
# CamelCase words (StopIslamophobia, McIntosh) have other capitals and are left alone.
_I_AS_L = re.compile(r"\b[a-z]+(?:I[a-z]+)+\b")
_L_AS_I = re.compile(r"\b(?=[A-Zl]*[A-Z][A-Zl]*[A-Z])[A-Zl]*l[A-Zl]*\b")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_BARE_URL = re.compile(r"\b[a-z0-9-]+\.(?:com|org|net|ly|co|me|io|info)/\S*", re.I)
_MENTION = re.compile(r"(?<![\w@])@(\w{1,30})")
_REPLY_BLOCK = re.compile(r"\s*\.?(?:@\w{1,30}[\s:,]*)+")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_a-zA-Z]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """One post's text, normalised for models and lexicons.

    ``text``: folded, URLs replaced by ``httpurl``, mentions by ``@user``, hashtags kept as ``#tag``;
    ``hashtag_words``: each hashtag segmented into words (``#JeSuisCharlie`` -> ``je suis charlie``).
    """

    original: str
    text: str
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    hashtag_words: tuple[str, ...] = ()
    is_retweet: bool = False  # starts with the old-style "RT @user" marker
    #: how many of ``mentions``, from the first, are the addressees of a reply: the handles a post opens with,
    #: before any other word ("@a @b thanks"); 0 for a retweet, whose first handle is its source
    reply_to: int = 0


def _fix_case_lookalikes(text: str) -> str:
    if _LOOKALIKE_HINT.search(text) is None:
        return text
    if "I" in text:
        text = _I_AS_L.sub(lambda m: m.group(0).replace("I", "l"), text)
    if "l" in text:
        text = _L_AS_I.sub(lambda m: m.group(0).replace("l", "I"), text)
    return text


def fold(text: str) -> str:
    """NFKC, case look-alikes, case folding, Arabic orthography, digits and homoglyphs. Keeps everything else
    (URLs, mentions, punctuation) in place."""
    text = unicodedata.normalize("NFKC", text)
    text = _fix_case_lookalikes(text).casefold()
    # the table maps no ASCII character, and translate is slow: skip it for ASCII text
    return text if text.isascii() else text.translate(_FOLD_TABLE)


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).casefold().translate(_FOLD_TABLE)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """:func:`fold`, character by character, with the offset in ``text`` of every output character.

    Slower than :func:`fold` (a Python loop), so use it where spans are needed. Folding per character differs
    from whole-string NFKC only for combining sequences, which the Arabic table removes anyway.
    """
    text = _fix_case_lookalikes(text)
    if text.isascii():  # one output character per input character, and the table maps no ASCII
        return text.lower(), list(range(len(text)))
    fast = _fold_deleting(text)
    if fast is not None:
        return fast
    return _fold_loop(text)


def _fold_deleting(text: str) -> tuple[str, list[int]] | None:
    """The common non-ASCII case without a per-character loop. Characters that NFKC rewrites and that social
    text is full of (the ellipsis of truncated tweets, no-break spaces, Arabic presentation forms, full-width
    letters) are folded one by one; the stretches between them, when already in NFKC and with a case folding
    that changes no length, fold in one call - each character to exactly one character, or to none where the
    table deletes it (diacritics, tatweel, zero-width marks). None when a stretch does not qualify."""
    parts: list[str] = []
    offsets: list[int] = []
    prev = 0
    for m in _COMPAT.finditer(text):
        if not _fold_stretch(text, prev, m.start(), parts, offsets):
            return None
        folded = _fold_char(m.group(0))
        parts.append(folded)
        offsets.extend([m.start()] * len(folded))
        prev = m.end()
    if not _fold_stretch(text, prev, len(text), parts, offsets):
        return None
    return "".join(parts), offsets


def _fold_stretch(text: str, start: int, end: int, parts: list[str], offsets: list[int]) -> bool:
    stretch = text[start:end]
    if not stretch:
        return True
    if not unicodedata.is_normalized("NFKC", stretch):
        return False
    folded = stretch.casefold()
    if len(folded) != len(stretch):
        return False
    prev = 0
    for m in _DELETED.finditer(folded):
        offsets.extend(range(start + prev, start + m.start()))
        prev = m.end()
    offsets.extend(range(start + prev, end))
    parts.append(folded.translate(_FOLD_TABLE))
    return True


def _fold_loop(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        f = ch if ch.isascii() and not ch.isupper() else _fold_char(ch)
        if f:
            out.append(f)
            offsets.extend([i] * len(f))
    return "".join(out), offsets


def skeleton(text: str) -> str:
    """Aggressive folding for handle and slogan matching: :func:`fold`, then digits/symbols that stand for
    letters, ``l``/``i`` merged, and separators dropped (``Ins1de_War`` and ``lNSlDEWAR`` -> ``insidewar``
    with ``l`` read as ``i``). Never use it as model input: it destroys real distinctions."""
    return _SKELETON_DROP.sub("", fold(text).translate(_SKELETON_TABLE))


@lru_cache(maxsize=65536)
def segment_hashtag(tag: str) -> str:
    """Split a hashtag body into lower-case words on CamelCase, digits and underscores.

    ``JeSuisCharlie`` -> ``je suis charlie``; ``Islamic_State`` -> ``islamic state``; ``ISISCrimes`` ->
    ``isis crimes``; an Arabic ``الدولة_الإسلامية`` -> ``الدوله الاسلاميه``.
    """
    tag = unicodedata.normalize("NFKC", tag.lstrip("#"))
    words: list[str] = []
    for part in tag.split("_"):
        if part:
            words.extend(_CAMEL.findall(part) or [part])
    return " ".join(fold(w) for w in words if w)


_SEGMENTABLE = re.compile(r"_|\d|.[A-Z]")
_LOOKALIKE_HINT = re.compile(r"[a-z]I[a-z]|[A-Z]l|l[A-Z]")


def normalize(text: str) -> NormalizedText:
    """Normalise one post: unescape HTML entities, fold, mask URLs and mentions, record hashtags."""
    text_u = html.unescape(text) if "&" in text else text
    found: list[str] = []

    def _url(m: re.Match[str]) -> str:
        found.append(m.group(0))
        return f" {URL_TOKEN} "

    work = text_u
    low = text_u.lower()
    if "http" in low or "www." in low:
        work = _URL.sub(_url, work)
    if "/" in work and "." in work:
        work = _BARE_URL.sub(_url, work)
    urls = tuple(found)
    mentions: tuple[str, ...] = ()
    if "@" in work:
        names: list[str] = []

        def _mention(m: re.Match[str]) -> str:
            names.append(m.group(1))
            return MENTION_TOKEN

        work = _MENTION.sub(_mention, work)
        mentions = tuple(names)
    hashtags: tuple[str, ...] = ()
    hashtag_words: tuple[str, ...] = ()
    folded = " ".join(fold(work).split())
    if "#" in work:
        raw_tags = _HASHTAG.findall(work)
        if raw_tags:
            hashtags = tuple(_HASHTAG.findall(folded))
            if len(hashtags) != len(raw_tags):  # folding changed a tag's extent; fold each one instead
                hashtags = tuple(fold(t) for t in raw_tags)
            hashtag_words = tuple(segment_hashtag(t) if _SEGMENTABLE.search(t) else h
                                  for t, h in zip(raw_tags, hashtags, strict=True))
    is_retweet = text.lstrip()[:3] in ("RT ", "rt @", "RT@")
    reply_to = 0
    if mentions and not is_retweet:
        block = _REPLY_BLOCK.match(text_u)
        if block:
            reply_to = min(len(_MENTION.findall(block.group(0))), len(mentions))
    return NormalizedText(original=text, text=folded, hashtags=hashtags, mentions=mentions, urls=urls,
                          hashtag_words=hashtag_words, is_retweet=is_retweet, reply_to=reply_to)
