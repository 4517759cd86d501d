"""The stance model: scopes and event frames as features, the shipped heads on schematic posts of every stance,
and the model file format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bastion.errors import InputError
from bastion.text.normalize import fold
from bastion.threats.analysis import default_analyzer
from bastion.threats.stance import FORMAT, StanceModel, features, scopes


def feats(text: str, lang: str | None = None) -> dict[str, float]:
    return features(default_analyzer().analyze(fold(text), lang))


def test_scopes_mark_quotation_report_and_negation() -> None:
    an = default_analyzer().analyze(fold('Police said he wrote “we will kill them”. We will never harm anyone.'))
    marks = {t.norm: s for t, s in zip(an.tokens, scopes(an), strict=True) if not t.punct}
    assert marks["kill"] == "qr"  # quoted, and inside a report
    assert marks["harm"] == "n"  # negated
    assert marks["police said"] == ""


def test_a_first_person_after_a_clause_break_ends_a_report() -> None:
    an = default_analyzer().analyze(fold("He said it, and we will kill them"))
    marks = {t.norm: s for t, s in zip(an.tokens, scopes(an), strict=True) if not t.punct}
    assert marks["kill"] == ""


def test_event_frames_name_agent_mood_and_target() -> None:
    f = feats("We will kill your staff")
    assert "e:ag+m+tg:P1+FUT+P2" in f
    assert "e:k:KILL" in f
    negated = feats("We will never kill anyone")
    assert any(k.startswith("en:") for k in negated) and not any(k.startswith("e:") for k in negated)
    quoted = feats('He posted "we will kill your staff"')
    assert any(k.startswith("eq:") for k in quoted) and not any(k.startswith("e:") for k in quoted)


def test_german_verb_second_finds_the_subject_after_the_verb() -> None:
    f = feats("Morgen erschießen wir die Moderatoren", "de")
    assert "e:ag:P1" in f
    assert "e:tg:HUMAN" in f and "e:tg:P1" not in f  # the subject after the verb is not also its object


def test_a_present_tense_with_a_near_time_is_a_future() -> None:
    assert "e:ag+m+tg:P1+FUT+HUMAN" in feats("Morgen erschießen wir die Moderatoren", "de")
    assert "e:m:-" in feats("They shoot the moderators")  # no time, no mood


def test_a_condition_s_consequence_in_the_present_is_a_future() -> None:
    # "if I see any of them tonight, they're dead": the act is the condition's consequence, not a state now
    assert "e:m:FUT" in feats("If I see any refugees tonight, they're dead.", "en")
    assert "e:m:FUT" in feats("Wenn ich heute Abend Schwule sehe, sind sie tot.", "de")
    assert "e:m:FUT" in feats("Next time I see that moderator I'm breaking his legs.", "en")  # a clause of its own
    assert "e:m:FUT" not in feats("If they kill us, the world will watch.", "en")  # the act inside the condition
    assert "e:m:FUT" not in feats("They're dead.", "en")


def test_a_german_subordinate_clause_ends_in_the_verb_that_governs_it() -> None:
    # "whoever threatens journalists with death": the verb of threatening comes after the act it reports
    f = feats("Wer Journalisten mit dem Tod droht, gehört vor Gericht.", "de")
    assert any(k.startswith("er:") for k in f) and not any(k.startswith("e:") for k in f)
    # a main clause after the comma is read as before
    assert any(k.startswith("e:") for k in feats("Wenn ihr weiter löscht, bringen wir euch um.", "de"))


def test_a_german_first_person_present_is_a_commitment() -> None:
    # German speaks of its own future in the present ("Ich finde dich und bringe dich um"); a past, a participle
    # or another person's act is no commitment of the speaker's
    assert "e:ag+m:P1+FUT" in feats("Ich finde dich und bringe dich um.", "de")
    assert "e:ag+m:P1+FUT" in feats("Wir erschießen die Moderatoren", "de")
    assert "e:ag+m:P1+FUT" not in feats("Wir haben die Moderatoren erschossen", "de")
    assert "e:ag+m:P1+FUT" not in feats("Sie erschießen die Moderatoren", "de")


def test_stopping_is_not_negating() -> None:
    f = feats("Nothing will stop us from stabbing your moderators")
    assert not any(k.startswith("en:") for k in f)


@pytest.mark.parametrize("text", [
    "We will kill your staff in San Francisco tonight.",
    "If you keep deleting our accounts, we will burn your office down.",
    "Lone wolves, go after their employees and stab them.",
    "Their moderators deserve to be shot.",
    "We know where your office is. Watch your back.",
    "I hope their headquarters gets bombed.",
    "Kill all Muslims.",
    "I want to see every one of them dead.",
    "Wir werden eure Mitarbeiter erschießen.",
    "Ihr werdet alle sterben, ihr Verräter.",
    "Ich will sie alle tot sehen.",
    "Keep deleting our accounts and see what happens to your moderators.",
    "Brothers in California, you know what to do with these traitors at Twitter.",
    "Wartet nur, ihr seid bald dran, wir wissen, welchen Zug ihr nehmt.",
    "إذا حظروا أخا آخر من إخوتنا فسيحترق مكتبهم",
    "It is time to wipe these people off the face of the earth.",
    "Round them up and gas them.",
    "Diese Leute muss man alle einschläfern.",
    "Treibt sie zusammen und vergast sie.",
    "اجمعوهم واحرقوهم",
    "على أحد أن يدهس هؤلاء المتظاهرين",
    "سنقتل موظفيكم في مكتبكم",
    "اقتلوهم جميعا",
])
def test_the_shipped_model_reads_threats(text: str) -> None:
    res = StanceModel.default().predict([feats(text)])[0]
    assert res.threat >= 0.5, (text, res.probabilities)


@pytest.mark.parametrize("text,stance", [
    ('Police said the man had threatened to kill staff at the office.', "report"),
    ('One post read: "we will kill your staff", the company said.', "quote"),
    ("Calls to kill journalists are disgusting and have no place here. Report them.", "condemn"),
    ("We will never hurt anyone. We just want our accounts back.", "negate"),
    ("My boss is going to kill me if I am late again lol", "joke"),
    ("I shot every zombie in the game last night", "narrate"),
    ("May God have mercy on the victims of the attack and heal the wounded.", "pray"),
    ("صرخ المهاجم بأنه سيقتل كل الموظفين بحسب شهود", "report"),  # shouted that he would, witnesses say
])
def test_the_shipped_model_reads_look_alikes(text: str, stance: str) -> None:
    res = StanceModel.default().predict([feats(text)])[0]
    assert res.threat < 0.5, (text, res.probabilities)
    # the stance itself may be a neighbour (a condemnation that cites a call reads a little like a report)
    assert res.stance != "issue" and res.probabilities[stance] >= 0.2, (text, res.probabilities)


def test_explanations_name_features_and_sum_to_the_logit_gap() -> None:
    m = StanceModel.default()
    f = feats("We will kill your staff")
    res = m.predict([f])[0]
    assert res.contributions and all(name in m.vocab for name in res.contributions)


def test_round_trip_and_format_check(tmp_path: Path) -> None:
    m = StanceModel.default()
    p = tmp_path / "m.json"
    m.save(p)
    again = StanceModel.load(p)
    f = feats("We will kill your staff")
    a, b = m.predict([f])[0], again.predict([f])[0]
    assert np.isclose(a.threat, b.threat, atol=1e-3) and a.form == b.form
    data = json.loads(p.read_text(encoding="utf-8"))
    assert data["format"] == FORMAT
    data["format"] = "bastion-threat-model/2"
    p.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="retrain"):
        StanceModel.load(p)
    with pytest.raises(InputError, match="does not exist"):
        StanceModel.load(tmp_path / "missing.json")


def test_the_object_of_a_phrase_is_not_the_agent_of_the_next_act() -> None:
    """"I will find you and kill you": "you" ends the phrase "will find you" as its object; I kill."""
    kill = [k for k in feats("I will find you and kill you") if k.startswith("e:ag+m:")]
    assert "e:ag+m:P1+FUT" in kill or any(k.startswith("e:ag+m:P1") for k in kill), kill


@pytest.mark.parametrize("text", ["Nothing will stop us from shooting your staff",
                                  "No ban can stop us from torching your building"])
def test_the_one_not_stopped_is_who_acts(text: str) -> None:
    f = feats(text)
    assert "e:ag:P1" in f and "e:m:INTENT" in f


@pytest.mark.parametrize("text,lang", [
    ("If you do not unblock our accounts, we will kill your moderators", "en"),
    ("Falls ihr unsere Konten nicht freigebt, werden wir eure Moderatoren töten.", "de"),
])
def test_the_negation_of_a_condition_does_not_negate_what_follows(text: str, lang: str) -> None:
    f = feats(text, lang)
    assert "e:k:KILL" in f and not any(k.startswith("en:") for k in f)
    an = default_analyzer().analyze(fold(text), lang)
    marks = [s for t, s in zip(an.tokens, scopes(an), strict=True) if t.tags & {"KILL"}]
    assert marks == [""]
    # a negation in the main clause still negates
    assert any(k.startswith("en:") for k in feats("If you ask, we will not kill anyone", "en"))


def test_an_act_after_a_colon_takes_the_obligation_before_it() -> None:
    assert "e:k+m:DEATH+DEONT" in feats("Für den Chef gibt es nur eine Strafe: den Tod.", "de")
    assert "e:k+m:DEATH+DEONT" not in feats("Der Chef sagte: den Tod.", "de")


def test_a_report_before_the_subject_reports_the_act() -> None:
    """The frame looks for a verb of saying before the act's subject, not before the last word it looked at."""
    f = feats("Die Polizei hat einen Mann festgenommen, der gedroht haben soll, Mitarbeiter zu erschießen.", "de")
    assert "er:k:KILL" in f and "e:k:KILL" not in f


def test_the_arabic_object_suffix_is_the_target_not_the_agent() -> None:
    f = feats("مديري بيذبحني", "ar")  # my boss slaughters me
    assert "e:ag+tg:P3+P1" in f
    assert "e:ag+tg:P1+P2" in feats("سنقتلكم", "ar")  # we will kill you


def test_a_german_subject_after_the_verb_beats_a_fronted_phrase() -> None:
    f = feats("Für jeden gelöschten Account töten wir einen eurer Mitarbeiter.", "de")
    assert "e:ag:P1" in f and "e:ag:GEN" not in f


def test_the_target_is_looked_for_in_the_act_s_own_clause() -> None:
    f = feats("Wir wollen den Chef kaltmachen, und wir werden es tun.", "de")
    assert "e:tg:HUMAN" in f and "e:tg:P1" not in f


def test_not_living_through_it_is_death_not_a_denial() -> None:
    f = feats("Keep banning us and nobody in your office will go home alive.", "en")
    assert "e:k:DEATH" in f and not any(k.startswith("en:") for k in f)


def test_a_compound_s_last_noun_is_the_target() -> None:
    assert "e:tg:NONHUMAN" in feats("Tomorrow we shoot the team photos at HQ", "en")  # photos, not the team
    assert "e:tg:HUMAN" in feats("We will kill the office staff", "en")  # staff, not the office


def test_a_participle_after_a_noun_has_no_agent_of_its_own() -> None:
    """"We pray for the aid workers killed last week": nobody here kills; the wish before a participle stays."""
    prayer = feats("We pray for the souls of the aid workers killed last week.", "en")
    assert "e:ag:-" in prayer and "e:m:PASS" in prayer and "e:ag:P1" not in prayer
    wish = feats("Nothing would make me happier than seeing their employees executed.", "en")
    assert "e:m:PASS" in wish and "e:m:WISH" in wish


def test_a_participle_after_being_and_a_noun_is_a_passive_too() -> None:
    """"Kids being murdered in their schools": a passive in progress, with no agent; "we" who see it done
    stays the agent of a threat of seeing it ("we will see your kids being murdered" is read as before)."""
    report = feats("They talk while kids being murdered in their schools.", "en")
    assert "e:m:PASS" in report and "e:tg:HUMAN" in report and "e:ag:-" in report and "e:ag:P3" not in report
    assert "e:m:PASS" not in feats("He is being murdered.", "en")  # no noun before "being": as before


def test_a_lethal_act_in_the_future_passive_is_its_target_s_death() -> None:
    """"Twitter staff will be executed" says what "Twitter staff will die" says: the same event frame. The past
    ("were killed": news) and a participle after a noun keep the act."""
    def frame(text: str, lang: str = "en") -> set[str]:
        return {k for k in feats(text, lang) if k.startswith("e")}

    assert frame("Twitter staff will be executed.") == frame("Twitter staff will die.")
    assert frame("They will be killed, every one of them.") == frame("They will die, every one of them.")
    assert frame("Die Mitarbeiter werden getötet werden.", "de") == frame("Die Mitarbeiter werden sterben.", "de")
    assert "e:k:KILL" in frame("Two soldiers were killed in the attack.")
    assert "e:k:KILL" in frame("We pray for the aid workers killed last week.")


def test_a_veiled_threat_phrase_is_a_veiled_threat_whatever_violent_word_it_holds() -> None:
    """"Legitimate targets", "a real war on you": read as the plain act of their violent word, they would be
    news of a war or an attack."""
    for text in ("Twitter employees are legitimate targets now.", "We will bring the war to your staff."):
        f = feats(text, "en")
        assert "e:k:VEIL" in f and "e:k:HURT" not in f, sorted(f)


def test_saying_inside_a_condition_does_not_report_the_act_after_it() -> None:
    # the condition's verb ("hetzt", agitates; "reporting") is what the target does, not a frame of saying
    f = feats("Wenn die Ministerin weiter über uns hetzt, steche ich sie ab.", "de")
    assert "e:k:KILL" in f and "er:k:KILL" not in f
    # a report before the condition still reports the act
    assert "er:k:KILL" in feats("Die Polizei sagte, wenn sie kommen, töten sie alle.", "de")


def test_a_german_quantifier_before_its_noun_is_no_subject() -> None:
    """German ends the clause with its verb, so walking back from "brechen" meets the object's quantifier
    ("jeden Knochen") before the subject; and the dative before the body part is whose it is."""
    f = feats("Ich werde dir jeden Knochen brechen.", "de")
    assert "e:ag:P1" in f and "e:ag:GEN" not in f and "e:tg:P2" in f, sorted(f)
    # a quantifier that stands alone is still who acts; so is a phrase's whoever ("für den, der")
    assert "e:ag:GEN" in feats("Jeder wird sterben.", "de")
    assert "e:ag:GEN" in feats("50.000 Euro für den, der Bürgermeister Falkner umbringt.", "de")


def test_a_floating_quantifier_keeps_the_obligation_of_a_passive() -> None:
    """"They should all be shot" is "they should be shot": the quantifier between the modal and "be" must not
    split the obligation from its passive."""
    f = feats("They should all be shot.", "en")
    assert "e:m:DEONT" in f and "b:BE>ED" not in f, sorted(f)


@pytest.mark.parametrize("text,lang,future", [
    ("Tonight we burn their office.", "en", True),  # someone acts in the present with a near time: a future
    ("Morgen erschießen wir sie alle.", "de", True),  # German: the subject after the verb
    ("Palmyra battle ended this morning after 48 hrs of fierce fighting.", "en", False),  # a noun: the event's time
    ("الطائرات تقصف الأحياء الشرقية للمدينة منذ الصباح.", "ar", False),  # since the morning: no future
])
def test_a_near_time_makes_a_future_only_of_an_act_someone_does(text: str, lang: str, future: bool) -> None:
    assert any(k.endswith("m:FUT") for k in feats(text, lang)) is future


@pytest.mark.parametrize("text,lang", [
    ("I pray every day that the hostages come home alive.", "en"),
    ("Ich bete jeden Tag, dass die Geiseln lebend nach Hause kommen.", "de"),
])
def test_coming_home_alive_is_no_death(text: str, lang: str) -> None:
    # only negated ("nobody will go home alive") is living through it a death
    assert not any(k.startswith("e:k:DEATH") for k in feats(text, lang))
    assert "e:k:DEATH" in feats("Nobody in your office will go home alive.", "en")


def test_a_german_verb_at_the_end_of_its_clause_reads_its_mood_across_the_middle_field() -> None:
    f = feats("Hoffentlich werden die Leute im Twitter-Büro in München noch dieses Jahr erschossen.", "de")
    assert "e:k+m:KILL+WISH" in f
