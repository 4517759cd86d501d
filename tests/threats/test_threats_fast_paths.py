"""The cue layer's fast paths change nothing: the script gate in front of the cue patterns and the skip of
letter-run collapsing. Each is checked against the plain loop it short-cuts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.text.normalize import fold_with_offsets
from bastion.threats import intent
from bastion.threats.patterns import CUES


def _all_cues(folded: str) -> list[intent.Match]:
    return [intent.Match(c.kind, m.start(), m.end()) for c in CUES for m in c.regex.finditer(folded)
            if m.end() > m.start()]


MIXED = [
    "I will kill you",
    "ich bringe dich um",
    "سأقتلك غدا",
    "kill them اقتلوهم 🔪",
    "🔪🔪🔪 !!!",
    "RT @user: سنقتلكم all of you will die",
    "Ünd wir werden euch töten",
    "12345 ... ???",
]

# Texts drawn from the characters the cues are written in (Latin, German letters, Arabic), digits, emoji and
# punctuation, so that both scripts, either alone, and neither all occur.
_ALPHABET = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzäöüßABCKLM ") + list("اقتلوهمسنكدبي ")
                            + list("0123456789!?.,'\"@#🔪💣😂 \n"))
TEXTS = st.lists(_ALPHABET, max_size=60).map("".join) | st.sampled_from(MIXED)


def test_script_gate_finds_what_every_cue_finds_on_mixed_posts() -> None:
    for text in MIXED:
        folded, _ = fold_with_offsets(text)
        assert intent.find_cues(folded) == _all_cues(folded), text


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_script_gate_is_exact(text: str) -> None:
    folded, _ = fold_with_offsets(text)
    assert intent.find_cues(folded) == _all_cues(folded)


def test_script_gate_skips_the_other_scripts_cues() -> None:
    langs_latin = {c.lang for c in intent._cues_for("i will kill you")}
    langs_arabic = {c.lang for c in intent._cues_for("سأقتلك")}
    assert "ar" not in langs_latin and {"en", "de", "any"} <= langs_latin
    assert langs_arabic == {"ar", "any"}
    assert {c.lang for c in intent._cues_for("🔪 !!")} == {"any"}


@settings(max_examples=300, deadline=None)
@given(TEXTS | st.text(max_size=40))
def test_collapse_fast_path_is_exact(text: str) -> None:
    folded, offsets = fold_with_offsets(text)
    assert intent._collapse_runs(folded, offsets) == intent._collapse_loop(folded, offsets)
    # and a stretched word still collapses
    assert intent._collapse_runs("killlll", list(range(7)))[0] == "kill"
