"""Cue-layer additions: laughter as a mitigation, dialect and German forms, and the English chant that no longer
fires on the German article. Fixtures are schematic: a violent verb and a pronoun, never persuasive text."""

from __future__ import annotations

import pytest

from bastion.threats.intent import DEFAULT_WEIGHTS, MITIGATIONS, score_text


def test_laughter_is_a_mitigation_that_lowers_but_does_not_cancel() -> None:
    plain = score_text("ich hau dich")
    joking = score_text("ich hau dich hahaha 😂")
    assert "laughter" in joking.mitigations and "mitigation:laughter" in joking.labels
    assert "laughter" not in plain.mitigations
    assert joking.logit == pytest.approx(plain.logit + DEFAULT_WEIGHTS["laughter"])
    assert "laughter" in MITIGATIONS
    # a small discount: an explicit threat said with a laugh stays a threat
    assert score_text("I will kill you lol").probability >= 0.5


def test_german_article_die_is_not_a_death_wish() -> None:
    r = score_text("die Leute die hier wohnen sind nett")
    assert "wish" not in r.features
    assert r.probability < 0.05
    assert "wish" in score_text("die, die, die").features


@pytest.mark.parametrize("text,feature", [
    ("they ran them over", "violence"),
    ("run'em over", "violence"),
    ("they should be annihilated", "incitement"),
    ("erhäng dich", "wish"),
    ("die gehören hingerichtet", "incitement"),
    ("اجلدهم", "incitement"),
    ("الطشك", "violence"),
    ("جعله يموت", "wish"),
])
def test_new_cue_forms(text: str, feature: str) -> None:
    assert feature in score_text(text).features, text


def test_fist_emoji_is_weak_evidence_only() -> None:
    r = score_text("👊")
    assert r.features.get("violence_weak", 0) > 0 and "violence" not in r.features
    assert r.probability < 0.1


@pytest.mark.parametrize("text", [
    "Police said the man threatened to run them over, according to a statement",
    "We condemn the horrific attack, violence is never the answer",
    "I could kill for a coffee right now lol",
    "In the game we shoot every zombie on the level",
])
def test_reporting_condemnation_idiom_fiction_stay_low_after_bias_change(text: str) -> None:
    assert score_text(text).probability < 0.5, text


def test_ordinary_german_and_arabic_text_is_near_zero() -> None:
    assert score_text("Schönes Wetter heute, wir gehen spazieren").probability < 0.02
    assert score_text("صباح الخير يا اصدقاء").probability < 0.02


@pytest.mark.parametrize("text", [
    "Hanging out in the park with friends",
    "Shooting at the mall, police on scene",
    "Torture of prisoners must end",
    "Stability ball workout this morning",
    "Let's beat #MondayBlues",
    "when you get the message, hang up the phone",
])
def test_clause_opening_gerunds_nouns_and_captions_are_not_imperatives(text: str) -> None:
    r = score_text(text)
    assert "incitement" not in r.features, text
    assert r.probability < 0.5, text


@pytest.mark.parametrize("text", ["Shoot them.", "Run them over!", "Kill all protesters", "just burn it"])
def test_imperatives_with_an_object_or_ending_the_clause_are_incitement(text: str) -> None:
    assert "incitement" in score_text(text).features, text
