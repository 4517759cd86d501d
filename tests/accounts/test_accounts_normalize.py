from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.accounts.normalize import (
    edit_similarity,
    fold,
    handle_leet,
    handle_segments,
    handle_stem,
    levenshtein,
    link_key,
    name_key,
    skeleton,
    string_similarity,
)


def test_handle_stem_drops_digits_underscores_and_case() -> None:
    assert handle_stem("abuayisha102") == handle_stem("AbuAyisha_108")
    assert handle_stem("dieinurage29__7") == handle_stem("Dieinurage308")


def test_lookalike_letters_fold_to_latin() -> None:
    cyrillic = "Kh\u0456l\u0430f\u0430h"  # Cyrillic i and a
    assert fold(cyrillic) == fold("Khilafah")
    assert handle_stem("EPlC24") == handle_stem("EPIC")  # capital I and small l look alike
    assert handle_stem("Corner") == handle_stem("Comer")  # rn reads as m


def test_leet_digits_between_letters_read_as_letters() -> None:
    assert handle_leet("m4ghr3bi_77") == handle_leet("maghrebi")
    assert handle_leet("abc123") == handle_stem("abc123")  # trailing numbers are numbers


def test_segments_and_skeleton() -> None:
    assert handle_segments("Al_Battar_Engl") == ["al", "battar", "engl"]
    assert "fulaanl" in handle_segments("FidaeeFulaani")  # camelCase split, i read as l
    assert skeleton("battar") == skeleton("bttar") == "bttr"


def test_names_and_arabic_folding() -> None:
    assert name_key("The  Caravan!") == name_key("the caravan")
    assert name_key("أبو محمد") == name_key("ابو محمد")  # hamza forms of alef


def test_similarities() -> None:
    assert edit_similarity("habeshi", "hebeshi") > 0.8
    assert string_similarity("abc", "xyz") == 0.0
    assert string_similarity("same", "same") == 1.0


def test_link_key() -> None:
    assert link_key("https://www.Example.org/path/?q=1") == "example.org/path"
    assert link_key("https://t.co") is None
    assert link_key("http://t.co/abc") == "t.co/abc"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcd", max_size=14), st.text(alphabet="abcde", max_size=14))
def test_bit_parallel_levenshtein_matches_the_table(a: str, b: str) -> None:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    assert levenshtein(a, b) == prev[-1]
