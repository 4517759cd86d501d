"""Normalisation: Unicode, Arabic orthography, look-alikes, masking, hashtag segmentation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.text.normalize import (
    _FOLD_TABLE,
    MENTION_TOKEN,
    URL_TOKEN,
    _fix_case_lookalikes,
    _fold_char,
    _fold_loop,
    fold,
    fold_with_offsets,
    normalize,
    segment_hashtag,
    skeleton,
)


def test_nfkc_and_case_folding() -> None:
    assert fold("ＤＡＢＩＱ") == "dabiq"  # full-width
    assert fold("Straße") == "strasse"
    assert fold("ﬁre") == "fire"  # ligature


def test_arabic_orthography() -> None:
    assert fold("أ إ آ ٱ") == "ا ا ا ا"  # alef forms
    assert fold("دولة") == "دوله"  # ta marbuta
    assert fold("على") == "علي"  # alef maqsura
    assert fold("الدولـــة") == "الدوله"  # tatweel
    assert fold("إِنَّ") == "ان"  # diacritics
    assert fold("٢٠١٥ ۱۲") == "2015 12"  # Arabic-Indic and Persian digits
    assert fold("ﻣﻴﮕﻦ") == "ميگن"  # presentation forms via NFKC


def test_lookalike_handles_fold_to_plain_reading() -> None:
    assert normalize("lNSlDEWAR").text == "insidewar"
    assert normalize("thefIamesofhaqq").text == "theflamesofhaqq"
    assert fold("Іѕlаmіс Ѕtаtе") == "islamic state"  # Cyrillic look-alikes
    # CamelCase keeps its I
    assert fold("StopIslamophobia McIntosh") == "stopislamophobia mcintosh"
    assert skeleton("Ins1de_War") == skeleton("lNSlDEWAR") == skeleton("INSIDE WAR")
    assert skeleton("D4B1Q") == skeleton("dabiq")


def test_masking_and_entities() -> None:
    n = normalize("RT @SomeUser: news &amp; more https://t.co/abc and bit.ly/x1 #JeSuisCharlie")
    assert n.is_retweet
    assert n.mentions == ("SomeUser",)
    assert n.urls == ("https://t.co/abc", "bit.ly/x1")
    assert MENTION_TOKEN in n.text and URL_TOKEN in n.text
    assert "someuser" not in n.text and "t.co" not in n.text
    assert "&amp;" not in n.text and "&" in n.text
    assert n.hashtags == ("jesuischarlie",)
    assert n.hashtag_words == ("je suis charlie",)


def test_hashtag_segmentation() -> None:
    assert segment_hashtag("#JeSuisCharlie") == "je suis charlie"
    assert segment_hashtag("Islamic_State") == "islamic state"
    assert segment_hashtag("ISISCrimes") == "isis crimes"
    assert segment_hashtag("الدولة_الإسلامية") == "الدوله الاسلاميه"


def test_fold_with_offsets_maps_back() -> None:
    text = "Ｘ إِنَّ Dabiq"
    folded, offsets = fold_with_offsets(text)
    assert len(folded) == len(offsets)
    i = folded.index("dabiq")
    assert text[offsets[i]:offsets[i + 4] + 1] == "Dabiq"


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=120) | st.text(max_size=60))
def test_fold_with_offsets_ascii_fast_path_matches_the_character_loop(s: str) -> None:
    # the fast path holds only while the folding table leaves ASCII alone; below, the character loop it skips
    assert not [k for k in _FOLD_TABLE if k < 128]
    fixed = _fix_case_lookalikes(s)
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(fixed):
        f = ch if ch.isascii() and not ch.isupper() else _fold_char(ch)
        out.append(f)
        offsets.extend([i] * len(f))
    assert fold_with_offsets(s) == ("".join(out), offsets)


@given(st.text(alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF) | st.sampled_from(
    " \u0640\u064b\u0651\u200bAbcßİΣσς\u0301é\ufefbﻻ1٣…\u00a0\ufdfa\uff21ﺍ"), max_size=80) | st.text(max_size=80))
def test_fold_with_offsets_deleting_fast_path_matches_the_character_loop(s: str) -> None:
    # the fast path relies on a table whose entries map one character to at most one
    assert all(v is None or len(v) == 1 for v in _FOLD_TABLE.values())
    assert fold_with_offsets(s) == _fold_loop(_fix_case_lookalikes(s))


@given(st.text(max_size=200))
def test_normalize_never_fails_and_is_idempotent_on_fold(s: str) -> None:
    n = normalize(s)
    assert isinstance(n.text, str)
    folded, offsets = fold_with_offsets(s)
    assert len(folded) == len(offsets)
    assert all(0 <= o < len(s) for o in offsets)


@pytest.mark.parametrize("text,mentions,reply_to", [
    ("@a @b thanks for nothing", ("a", "b"), 2),  # a reply to two accounts
    (".@a @b: look at @c", ("a", "b", "c"), 2),  # the old ".@" public-reply form; @c is named in the text
    ("RT @a: hello @b", ("a", "b"), 0),  # a retweet's first handle is its source, not an addressee
    ("hello @a", ("a",), 0),
    ("no mentions", (), 0),
])
def test_reply_addressees_are_counted(text: str, mentions: tuple[str, ...], reply_to: int) -> None:
    n = normalize(text)
    assert n.mentions == mentions and n.reply_to == reply_to

