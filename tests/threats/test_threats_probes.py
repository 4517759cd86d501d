"""Probes written for this project (not any suite's templates): threats in every form against people and
places, and the speech that reuses their words - reports, quotes, condemnations, jokes, prayers, games - in
English, German and Arabic, with targets kept schematic. The shipped detector must read each of them as it
reads them now, with the post's language given and without it; the misses it still makes are listed, so a
change that fixes one must take it off the list and a change that breaks another fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.detector import PostContext
from bastion.records import AccountId, Post, PostId
from bastion.threats.detector import ThreatDetector

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "threats" / "probes.jsonl"
PROBES = [json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines()]

#: what the detector still gets wrong, and why
KNOWN_MISSES = {
    # "هؤلاء يستحقون الحرق أحياء" ("deserve burning alive") left this list with model 2026.12.07-14 at 0.500;
    # since "هؤلاء" (these people) names people and "يستحقون الحرق" is an obligation (2026.12.07-15) it reads 0.98
    # the sixth round (threats against groups by who they are, and their reports and condemnations):
    "Women like you need to be beaten until they learn.",  # "beaten" is also a game's (0.21)
    # "سنحرق كل الكنائس في هذه المدينة." (we will burn every church) left this list with model 2026.12.07-24 at 0.506:
    # a retrain's move at the operating point, its tags unchanged (a burnt place in the first person weighs low)
    # "Wer schreibt, Schwule gehörten aufgehängt, gehört angezeigt." ("whoever writes" read as a call) sits at the
    # operating point: it left this list with model 2026.12.07-30 (0.491), came back with -34 (0.51) and left
    # again with -36; the next, an English future passive, came with -34 (0.34), a retrain's move; its neighbour
    # "They will hang from the lampposts, every one of them." came then too (0.46) and left with -38 (0.52)
    "They will be killed, every one of them.",
    # the seventh round (everyday posts with the words of veiled threats): someone is named, so the phrase is
    # read as the veiled threat it can be
    "Say hi to your mum for me.",
    "Sales team, expect us at the conference booth at 9.",
    # the eighth round (threats against groups in wordings of our own, and counter-speech): "pay with their blood"
    # in the third person had read as a report of what they will suffer (0.44; listing the phrase cost German
    # threat-dev 0.004 of ROC-AUC after a retrain; it left this list with -54, whose retrain raised it),
    # "saying that ... is disgusting" as a normative threat (0.57)
    # ("القول بأن النساء يجب إعدامهم أمر مقزز." left this list with -52 at 0.43, a retrain's move)
    # the ninth round (conditions whose consequence is a state, eliminating, protecting): "فهم أموات" (then they are
    # dead) after a condition sat on the operating point (0.497) and left this list with -41 (0.51)
    # the tenth round (threats of beatings and pain, not of death): "going to beat up" reads weakly (0.31): the
    # model weighs a non-lethal act with an intent low, as "I'm going to hurt you" (0.23)
    "I'm going to beat up the next gay guy I see.",
    # the eleventh round: a call quoted without quotation marks after "قول" (saying), a noun that is also the
    # imperative "say!" and the stem of "أقولها لك" (I tell you), which must not report (0.90)
    "قول اقتلوا كل اللاجئين غير مقبول أبدا.",
    # the thirteenth round ("cut" violent only with its object): a knife's "cut you" is a non-lethal act, which the
    # model weighs low (0.43; 0.54 while every "cut" was harm)
    "I will cut you if you come near my family again.",
    # the twenty-second round (threats of injury): the model weighs an act that maims rather than kills low, as it
    # weighs "I'm going to hurt you" (0.21): the suite it learns from threatens death and destruction, and its
    # real negatives hold "beat", "break" and "hurt" in games and news (0.26-0.43)
    "I'm going to break every bone in your body.",
    "We'll beat the life out of you if we catch you.",
    "Ich schwöre, ich schlage dir den Schädel ein.",
    "سأكسر كل عظمة في جسدك.",
    # ... and two with no word of violence: never walking again, and ending up in a ditch (listed, it flagged a
    # warning: "If you keep drinking like that you'll end up in a ditch", 0.97)
    "I'll make sure you never walk again.",
    "Keep talking and you'll end up in a ditch.",
    # the twenty-third round (the 2014 threats in other words): "we will end it at your doors" reads 0.44; it sits on
    # the operating point - it left this list with 2026.12.08-63 (0.504), came back with -64 (0.497), left again
    # with -66 (0.53) and came back with -70 (0.44), each a retrain's move
    "أنتم بدأتم الحرب ونحن سننهيها على أبوابكم.",
    # the twenty-fourth round (plain threats and calls against groups): "jeden ..., der" (everyone who) split by
    # the verb had read as the one who acts (0.44; it left this list with -54, whose retrain raised it)
    # the thirty-first round (veiled threats in other words): "not come home" and "على قائمتنا" (on our list) are
    # phrases with everyday readings, read as veiled threats when someone or somewhere is named - the kids (0.54)
    # and a restaurant (0.91) here, as "Say hi to your mum for me" above (the kids left this list with -52 at
    # 0.49, a retrain's move, and came back with -54 at 0.62)
    "The kids will not come home until six tonight, practice runs late.",
    "المطعم الجديد في وسط المدينة على قائمتنا لهذا الأسبوع.",
    # the thirty-fifth round (Arabic news whose verbs agree with a plural of things in the feminine, and conditions
    # whose consequence opens with "ف"): news of a killing in the present tense with a number of victims reads as
    # incitement (0.64; 0.86 while the "ت" of "تقتل" read "you")
    "القوات الحكومية تقتل عشرة مدنيين في قصف على السوق.",
    # the thirty-sixth round (bounties, and a police appeal and a prize beside them): the one who would act named
    # by a noun in a relative clause ("the brother who stabs") is no agent the frame reads (0.18), and an office
    # burnt for a bounty weighs low, as a burnt place does in the first person (0.34)
    "$5000 to the brother who stabs one of their engineers.",
    "مكافأة لمن يحرق مكتبهم في دبلن.",
    # the thirty-seventh round (the 2014 threats in other words, and a headline, reports and counter-speech with
    # them): a life that an act "costs" someone, its words apart, is no phrase the lexicon reads (0.16)
    "Every account you delete costs one of your employees his life.",
    # the thirty-eighth round (ultimatums and veiled threats in German, Arabic dialect futures, spelling games,
    # beside everyday posts in the same words): "wir sehen uns" (see you) is a phrase with everyday readings, read
    # as veiled once somewhere is named - here the office a meeting is at (1.00)
    "Wir sehen uns bald vor eurem Büro in Hamburg zum Meeting.",
    # ("Wir werden jeden abschlachten, der uns widerspricht." sat on the operating point from model 2026.12.07-57
    # (0.47): "jeden" before the verb is read as who acts; it left this list with 2026.12.08-63 at 0.53, whose
    # German verbs at the end of a clause look further back)
    # the forty-second round (threats as questions, an address with a call, a bomb in the building, staying away
    # "if you value your life", beside calls to vote or subscribe, advice and reports of hoaxes): "if you value your
    # life" is advice as often as a threat ("Wear a helmet if you value your life"), and listed as veiled it
    # flagged the advice (0.59-0.95) while the threats stayed unread (the condition's "if you" is read first)
    "Don't come to work on Monday if you value your life.",
    "Kommt am Montag nicht ins Büro, wenn euch euer Leben lieb ist.",
    "لا تأتوا إلى العمل يوم الاثنين إن كنتم تحبون الحياة.",
    # ("Do you want to die young? Then keep smoking.", a rhetorical question of death addressed to the reader, sat on
    # the operating point - 0.52 with -55 and -56, 0.49 with -57 and -58, 0.50 with -59 - and left this list with
    # 2026.12.08-63 at 0.46, a retrain's move)
    # German "Bombe" is a weapon, not an act, and "in die Luft gehen" (to explode) no phrase of the lexicon (0.16)
    "In eurem Foyer liegt eine Bombe, die um zwölf in die Luft geht.",
    # the forty-third round (the readings of this round's changes in other words: "you" after a verb, asking God
    # that, reporters as targets, "not joking" in dialect, beside reports, prayers for hostages and everyday plans):
    # "رح نلاقيكم" (we will find you) is listed as veiled, and in Levantine it is also "we will meet you" (0.98)
    "رح نلاقيكم بالمطار ومش عم نمزح، جهزوا حالكم للعشاء.",
    # the forty-fourth round (threats and calls against groups by religion, belief and sexuality, beside reports,
    # condemnations and a denial in the same words): unvowelled, "مثلي" is "gay" and "like me" (the lexicon lists
    # only the plurals), and "أحرقوا" is "burn!" and "they burned" (0.45)
    "سأطلق النار على أول مثلي أراه.",
    "أحرقوا كنائس الأقباط.",
    # the forty-fifth round (threats written with weapon emoji, beside a cake and a kitchen in the same emoji): "يوم
    # الجمعة" (on Friday) is also a dateline, so an office, a bomb and a day read as news (0.08)
    "مكتبكم في دبي 💣💥 يوم الجمعة.",
    # ... and its English sibling, with no verb, sat on the operating point (0.50 with -61) and fell with
    # 2026.12.08-63 (0.43), a retrain's move: a weapon emoji and a time beside a place of yours weigh as much as
    # a cake's
    "Your office in Dublin 💣💥 this Friday.",
    # the forty-seventh round (this stop's readings in other words: "I will find you and execute you", gamers'
    # words, praying that, the injured, posts that are no saying, "you won't live to see" in dialect, knowing
    # faces): "know your faces" is veiled whoever knows them - the police here (0.74), as "The guards know your
    # faces" reads in English (1.00): who knows, the author's side or the authorities, is not read
    "الأمن يعرفون وجوهكم من الكاميرات، فلا تخالفوا القانون.",
}


@pytest.fixture(scope="module")
def detector() -> ThreatDetector:
    return ThreatDetector()


@pytest.mark.parametrize("with_lang", [True, False])
def test_the_probes_are_read_as_before(detector: ThreatDetector, with_lang: bool) -> None:
    contexts = [PostContext(Post(id=PostId(p["id"]), account_id=AccountId("a"), text=p["text"],
                                 lang=p["lang"] if with_lang else None)) for p in PROBES]
    wrong = set()
    for probe, signals in zip(PROBES, detector.detect(contexts), strict=True):
        flagged = signals[0].value >= 0.5
        if flagged != (probe["class"] == "threat"):
            wrong.add(probe["text"])
    assert wrong - KNOWN_MISSES == set(), "newly misread"
    assert KNOWN_MISSES - wrong == set(), "now read right: take it off KNOWN_MISSES"
    assert len(PROBES) == 614
