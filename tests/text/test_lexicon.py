"""Lexicon: compilation, normalised matching, spans in the original text, weak scoring."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bastion.catalogue import build
from bastion.detector import PostContext
from bastion.errors import ConfigError
from bastion.records import AccountId, Post, PostId
from bastion.text.lexicon import Lexicon


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return Lexicon.load()


def _terms(lex: Lexicon, text: str) -> dict[str, str]:
    return {h.entry.term: text[h.start:h.end] for h in lex.match(text)}


def test_matches_across_spellings(lex: Lexicon) -> None:
    assert _terms(lex, "new issue of DABIQ out") == {"dabiq": "DABIQ"}
    assert _terms(lex, "Dаbiq") == {"dabiq": "Dаbiq"}  # Cyrillic а
    assert "al-naba" in _terms(lex, "the al naba weekly")


def test_arabic_with_clitic_and_diacritics(lex: Lexicon) -> None:
    text = "والدَّولة الإسلامية"
    terms = _terms(lex, text)
    assert "الدولة الإسلامية" in terms
    assert terms["الدولة الإسلامية"].endswith("الإسلامية")


def test_hashtags_match_inside(lex: Lexicon) -> None:
    text = "see #AmaqAgency now"
    hits = lex.match(text)
    assert {h.entry.category for h in hits} == {"outlet"}
    assert all(text[h.start:h.end] == "#AmaqAgency" for h in hits)


def test_word_boundaries(lex: Lexicon) -> None:
    assert _terms(lex, "crisis isis") == {"isis": "isis"}
    assert lex.match("amaqx dabiqs") == []


def test_nested_entries_count_once(lex: Lexicon) -> None:
    hits = lex.match("وكالة أعماق")
    assert [h.entry.term for h in hits] == ["وكالة أعماق"]


def test_score_is_weak_for_one_name(lex: Lexicon) -> None:
    assert Lexicon.score(lex.match("isis")) < 0.5
    assert Lexicon.score(lex.match("amaq dabiq wilayat ninawa")) > 0.8
    assert Lexicon.score([]) == 0.0


def test_invalid_lexicon() -> None:
    with pytest.raises(ConfigError):
        Lexicon({"version": "1", "categories": {"org": 0.5}, "entries": [{"term": "x", "category": "nope"}]})
    with pytest.raises(ConfigError):
        Lexicon({"entries": []})


def test_detector_emits_spans() -> None:
    (det,) = build(["lexicon"])
    post = Post(id=PostId("1"), account_id=AccountId("a"), text="Rumiyah and #Wilayat_Ninawa")
    (sigs,) = det.detect([PostContext(post)])
    (sig,) = sigs
    assert sig.name == "lexicon" and 0.5 < sig.value <= 1.0
    assert {s.text for s in sig.spans} == {"Rumiyah", "Wilayat_Ninawa"}
    assert sig.details["lexicon_version"] == det.lexicon.version
    (none,) = det.detect([PostContext(Post(id=PostId("2"), account_id=AccountId("a"), text="hello"))])
    assert none[0].value == 0.0


def test_the_score_is_the_same_in_every_process() -> None:
    """The product runs over the entries in the text's order: over a set, its order (and the last bits of the
    score, which decisions keep to six decimals) changed with each process's string hashing."""
    code = ("from bastion.text.lexicon import Entry, Hit, Lexicon\n"
            "hits = [Hit(Entry(f'term{i}', 'c', 'en', w), i, i + 1) for i, w in "
            "enumerate([0.25, 0.25, 0.1, 0.25])]\n"  # a real post's: 0.6203125 or 0.6203124999999999
            "print(repr(Lexicon.score(hits)))\n")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(8)}
    assert len(outs) == 1, outs
