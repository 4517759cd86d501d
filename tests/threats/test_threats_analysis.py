"""The analyser reads posts the way the stance model needs: spelling games folded, words tagged by what they do,
Arabic clitics read for person and tense, phrases and separable verbs as units, quotations marked."""

from __future__ import annotations

import pytest
import yaml

from bastion.errors import ConfigError
from bastion.text.normalize import fold
from bastion.threats.analysis import Analysis, Analyzer, default_analyzer
from bastion.threats.lexicon import HARM_TAGS, compile_lexicon


def read(text: str, lang: str | None = None) -> Analysis:
    return default_analyzer().analyze(fold(text), lang, full=True)


def tags_of(text: str, word: str, lang: str | None = None) -> frozenset[str]:
    an = read(text, lang)
    hits = [t.tags for t in an.tokens if t.norm == word or word in t.norm.split()]
    assert hits, f"{word!r} not among {[t.norm for t in an.tokens]}"
    return hits[0]


@pytest.mark.parametrize("text,word", [
    ("we will 8urn it", "burn"),          # leet
    ("we will k1ll them", "kill"),
    ("we will kiiiiill them", "kill"),    # stretched letters
    ("they will be s.h.o.t", "shot"),     # spaced out
    ("ihr werdet g3tötet", "getötet"),
    ("ich e.r.s.c.h.i.e.ß.e dich", "erschiesse"),  # ß folds to ss inside spaced-out letters
    ("i hope a b o m b hits them", "bomb"),  # the article spaced out with the word
])
def test_spelling_games_fold_to_the_word(text: str, word: str) -> None:
    assert {"KILL", "DESTROY"} & tags_of(text, word)


def test_tatweel_and_diacritics_fold_away() -> None:
    assert "KILL" in tags_of("سنقتــــلكم", "سنقتلكم")
    assert "KILL" in tags_of("سَنَقْتُلُكُم", "سنقتلكم")


@pytest.mark.parametrize("word,expected", [
    ("سنقتلكم", {"KILL", "FUT", "P1", "P2"}),      # future, we, you (object)
    ("هنقتلكم", {"KILL", "FUT", "P1", "P2"}),      # Egyptian future
    ("هقتلها", {"KILL", "FUT", "P1", "P3"}),       # Egyptian first person singular, her
    ("اقتلوهم", {"KILL", "IMP", "P2", "P3"}),       # plural imperative, them
    ("بنطعن", {"KILL", "PRES", "P1"}),              # Levantine present
    ("لنحرقن", {"DESTROY", "FUT", "P1"}),          # oath lam + nun
    ("ينقتلون", {"KILL", "PASS", "P3"}),            # form VII: they are killed
    ("ستموتون", {"DEATH", "FUT", "P2"}),            # a listed form still says who and when
    ("بيذبحني", {"KILL", "PRES", "P3", "P1", "O1"}),  # he slaughters me: the object suffix is marked as such
    ("اعدموه", {"KILL", "IMP", "P2", "O3"}),        # a listed imperative keeps its clitics
    ("فليقتحم", {"HURT", "IMP", "P3"}),             # the lam of command: let him storm
    ("روحوا", {"MOVE", "IMP", "P2"}),               # a listed dialect imperative (go!), not "they went"
    ("سنعدم", {"KILL", "FUT", "P1"}),              # a listed form's own prefix: we will execute ("عدم" is lack)
    ("سنعدمكم", {"KILL", "FUT", "P1", "P2", "O2"}),  # ... and with an object
    ("ساعدمك", {"KILL", "FUT", "P1", "P2", "O2"}),  # ... and the first person singular: I will execute you
    ("ستعدمون", {"KILL", "FUT", "P2"}),             # you (plural) will be executed
])
def test_arabic_clitics_say_who_and_when(word: str, expected: set[str]) -> None:
    assert expected <= tags_of(word, word)


@pytest.mark.parametrize("text,lang,word", [
    ("I want them all dead.", "en", "want"),
    ("I want to see every one of them dead.", "en", "want"),
    ("Ich will sie alle tot sehen.", "de", "will"),
    ("أريد أن أراهم جميعا أمواتا", "ar", "اريد"),
])
def test_wanting_someone_in_a_state_is_a_wish(text: str, lang: str, word: str) -> None:
    tags = tags_of(text, word, lang)
    assert "WISH" in tags and "INTENT" not in tags


def test_imperatives_with_a_pronoun_object() -> None:
    assert "IMP" in tags_of("Round them up and gas them.", "gas them", "en")  # a phrase's pronoun is its object
    # German: "sie" after a verb in -t is its object, unless the sentence asks
    assert "IMP" in tags_of("Treibt sie zusammen und vergast sie.", "treibt", "de")
    assert "IMP" in tags_of("Treibt sie zusammen und vergast sie.", "vergast", "de")
    assert "IMP" not in tags_of("Vergast sie das Zimmer?", "vergast", "de")


def test_wanting_to_act_stays_intent() -> None:
    assert "INTENT" in tags_of("I want to kill them.", "want", "en")
    assert "INTENT" in tags_of("We want to burn their office.", "want", "en")


def test_arabic_laughter_of_any_length_is_laughter() -> None:
    # a run of letters folds to one ("نقطععع"), but "هههه" folded so would be the future prefix هـ
    for laugh in ("ههه", "هههههههه", "خخخخخ", "هاهاها"):
        assert tags_of(f"مديري رح يدبحني إذا تأخرت {laugh}", laugh) == {"LAUGH"}


def test_a_hashtag_that_opens_with_a_plural_verb_is_a_call() -> None:
    # imperative and past tense are written alike; a hashtag campaign calls on its readers
    tags = tags_of("#صفّوا_الوزير حتى يتحقق", "صفوا")
    assert {"KILL", "IMP", "P2"} <= tags and not tags & {"PAST", "HASHTAG"}  # the author's own call
    assert "IMP" not in tags_of("صفّوا الوزير أمس", "صفوا")  # outside a hashtag: they did, or do it - unknown


def test_arabic_possessive_on_a_listed_noun() -> None:
    assert {"PLACE", "P2"} <= tags_of("مكتبكم", "مكتبكم")


@pytest.mark.parametrize("text,word", [
    ("إذا خبّرتني شو صار رح اقتلك", "خبرتني"),  # you told me: not the noun "خبر" (news)
    ("وحشتني يا صديقي", "وحشتني"),            # I missed you: not the noun "وحش" (beast)
])
def test_a_past_verb_with_its_object_is_no_noun(text: str, word: str) -> None:
    assert tags_of(text, word) == set()



def test_german_participles_and_separable_verbs() -> None:
    assert {"KILL", "PART"} <= tags_of("sie wurden umgebracht", "umgebracht", "de")
    assert "KILL" in tags_of("wir bringen eure admins um", "bringen", "de")  # bring ... um
    assert "KILL" in tags_of("stecht sie ab", "stecht", "de")


def test_german_verb_endings_do_not_make_nouns() -> None:
    assert "NONHUMAN" not in tags_of("du hast recht", "hast", "de")


def test_english_imperative_opens_a_clause() -> None:
    assert "IMP" in tags_of("Lone wolves, stab them.", "stab")
    assert "IMP" in tags_of("Go to their office and burn it down.", "burn")
    assert "IMP" not in tags_of("We stab nobody.", "stab")
    assert "IMP" not in tags_of("Morgen erschießen wir die Moderatoren.", "erschiessen", "de")


def test_a_call_on_others_heads_its_clause_a_subject_does_not() -> None:
    # a call on others right before the verb makes it a command only at the head of its clause ...
    assert "IMP" in tags_of("brothers kill them all", "kill", "en")
    assert "IMP" in tags_of("My brothers kill them all", "kill", "en")
    assert "IMP" in tags_of("@abu soldiers kill them all", "kill", "en")
    # ... with words of its own before it, the noun is a headline's subject (real war reports had read as calls)
    assert "IMP" not in tags_of("Israeli troops kill Gaza militant", "kill", "en")
    assert "IMP" not in tags_of("The Latest: IS fighters attack Syrian border town", "attack", "en")
    assert "IMP" in tags_of("Brüder tötet sie alle", "tötet", "de")
    assert "IMP" not in tags_of("Soldaten töten fünf Kämpfer an der Grenze", "töten", "de")  # plural: they kill


def test_the_arabic_article_takes_no_possessive() -> None:
    # "السكينة" (tranquility) and "القادمة" (the next) end in a ta marbuta that folds to "ه", the suffix "his"
    assert "P3" not in tags_of("ينعم بالسكينة والطمأنينة", "بالسكينه", "ar")
    assert "WEAPON" not in tags_of("ينعم بالسكينة والطمأنينة", "بالسكينه", "ar")
    assert {"WEAPON", "P3"} <= tags_of("سكينه في يده", "سكينه", "ar")  # his knife, with no article
    assert "P3" not in tags_of("المرة القادمة لن تكون تغريدة", "القادمه", "ar")


def test_having_someones_back_is_support() -> None:
    back = tags_of("Coach, we have your back no matter what.", "we have your back", "en")
    assert "ENDORSE" in back and "VEIL" not in back
    assert "VEIL" in tags_of("We have your address.", "we have your", "en")  # the veiled threat's own words


def test_a_broadcasters_wait_for_our_coverage_is_news() -> None:
    assert "NEWS" in tags_of("انتظروا تغطيتنا لزيارة الوزير غدا", "انتظروا تغطيتنا", "ar")
    wait = tags_of("انتظرونا قريبا", "انتظرونا", "ar")  # "wait for us" alone keeps its veiled reading
    assert "VEIL" in wait and "NEWS" not in wait
    assert not default_analyzer().analyze(fold("انتظروا تغطية المؤتمر بعد قليل"), "ar").gated  # no sign of a threat


def test_bleed_is_no_past_participle() -> None:
    assert "ED" not in tags_of("I will find you and make you bleed.", "bleed", "en")  # "-eed" is no "-ed"
    assert "ED" in tags_of("They bled to death", "bled", "en")


def test_a_noun_of_violence_heading_a_headline_is_no_command() -> None:
    assert "IMP" not in tags_of("Explosion of 2 booby-trapped homes", "explosion", "en")  # a noun by its ending
    assert "IMP" not in tags_of("Assassination of a commander", "assassination", "en")
    assert "IMP" not in tags_of("Ambush on PKK elements", "ambush", "en")  # a noun before "on" / "of"
    assert "IMP" in tags_of("Ambush them at dawn", "ambush", "en")
    assert "IMP" in tags_of("Shoot on sight", "shoot on sight", "en")  # the order is a phrase


def test_phrases_are_one_unit_and_keep_their_roles() -> None:
    an = read("nothing will stop us from stabbing your moderators")
    first = an.tokens[0]
    assert "INTENT" in first.tags and "NEG" not in first.tags  # no negation: a commitment
    idiom = read("my feet are killing me")
    assert not idiom.harm  # an idiom's violent word is not violence


def test_phrases_skip_commas() -> None:
    assert "VEIL" in tags_of("Wir wissen, wo eure Moderatoren wohnen.", "wir wissen wo", "de")


def test_short_words_do_not_match_by_stem() -> None:
    # "its" is not "it": "kill its staff" is no idiom ("killed it on stage")
    assert "KILL" in tags_of("we will kill its staff", "kill")


def test_quotations_are_marked() -> None:
    an = read('He wrote “we will kill them all”, police said.')
    quoted = [t.norm for t in an.tokens if t.quoted and not t.punct]
    assert quoted == ["we", "will", "kill", "them", "all"]
    assert len(an.quotes) == 1
    assert not read("Your employees' blood will flow").quotes  # an apostrophe opens nothing


def test_handles_and_links_are_not_words() -> None:
    an = read("@nour_writes we will find you https://t.co/killkill")
    assert [t.norm for t in an.tokens][:1] == ["@"]
    assert all("REPORT" not in t.tags for t in an.tokens)  # "writes" in a handle reports nothing
    assert not any("kill" in t.norm for t in an.tokens)


def test_language_vote_overrides_a_wrong_hint() -> None:
    assert read("we will shoot them all, the rats", "de").lang == "en"
    assert read("wir werden sie alle erschießen", "de").lang == "de"


def test_short_posts_without_a_language_are_read_by_their_modal_and_function_words() -> None:
    # no umlaut, no article: the modal verbs and "man" say German (they had tied with English, and the
    # verb of killing was then looked up in the English lexicon)
    for text in ("Frauen sollte man erschießen.", "Die muss man alle erschießen."):
        an = read(text)
        assert an.lang == "de" and any("KILL" in t.tags for t in an.tokens), text
    assert read("Women should be shot.").lang == "en"


def test_the_gate_opens_on_violence_veiled_parts_and_calls_only() -> None:
    assert not read("Lovely weather in the park today").gated
    assert not read("Schönes Wetter heute, wir gehen spazieren").gated
    assert not read("صباح الخير يا اصدقاء").gated
    assert read("we know where your kids go to school").gated  # no violent word, still a veiled threat
    assert read("Lone wolves, rise up").gated


@pytest.mark.parametrize(("text", "lang", "worth"), [
    ("$500 for whoever finds my cat", "en", False),  # a bounty, and no one to harm
    ("يا اخوة انتم تعرفون", "ar", False),  # a call on brothers that addresses the reader, nothing more
    ("Brüder, erhebt euch!", "de", False),
    ("$10,000 to whoever brings me his head", "en", True),  # a body
    ("we know where your kids go to school", "en", True),  # a family
    ("Lone wolves, go after their employees", "en", True),  # people
    ("you will pay for this", "en", True),  # a veiled-threat phrase needs no victim noun
])
def test_the_second_gate_wants_someone_to_harm(text: str, lang: str, worth: bool) -> None:
    """Without a word of violence or a veiled-threat phrase, a call, a bounty or the parts of a veiled threat
    open the detector's gate only with a person, place, family member or body named; training's gate (the
    default) still opens on all of them."""
    light = default_analyzer().analyze(fold(text), lang)
    assert light.gated
    assert default_analyzer().analyze(fold(text), lang, victim=True).gated is worth


def test_lexicon_files_are_validated() -> None:
    base = {"lang": "xx", "script": "latin", "stemmer": "english"}
    with pytest.raises(ConfigError, match="unknown tag"):
        compile_lexicon({**base, "words": {"KILLING": ["x"]}}, "xx.yaml")
    with pytest.raises(ConfigError, match="stemmer"):
        compile_lexicon({**base, "stemmer": "klingon"}, "xx.yaml")
    with pytest.raises(ConfigError, match="missing"):
        compile_lexicon({"lang": "xx"}, "xx.yaml")


def test_dead_is_a_state_not_the_stem_of_killing() -> None:
    # Snowball stems "tot" (dead), "die Toten" (the dead) and "töten" (to kill) alike
    for text, word in (("Ihr seid so gut wie tot.", "tot"), ("Die Toten wurden geborgen.", "toten")):
        tags = tags_of(text, word, "de")
        assert "DEATH" in tags and "KILL" not in tags
    assert "KILL" in tags_of("Wir töten sie.", "töten", "de")


def test_a_word_yaml_reads_as_a_boolean_is_refused() -> None:
    """YAML 1.1 reads an unquoted no, on, off, yes as a boolean: the English lexicon had tagged "false" as a negation
    (for "no"), left "on" and "no" out of its language vote and split "knock ... off" on "false"."""
    base = {"lang": "xx", "script": "latin", "stemmer": "english"}
    for doc in ("stop: [the, on]", "words:\n  NEG: [not, no]", "split:\n  KILL: [[knock, off]]"):
        with pytest.raises(ConfigError, match="boolean"):
            compile_lexicon({**base, **yaml.safe_load(doc)}, "xx.yaml")
    en = default_analyzer().lexicons["en"]
    assert en.lookup("false") is None and {"on", "no"} <= en.stop
    assert "KILL" in tags_of("We will knock them off", "knock", "en")


def test_a_language_is_one_lexicon() -> None:
    nl = compile_lexicon({"lang": "nl", "script": "latin", "stemmer": "dutch", "stop": ["de", "het", "we"],
                          "words": {"KILL": ["doden"]}, "forms": {"P1": ["we"], "FUT": ["zullen"]}}, "nl.yaml")
    an = Analyzer({"nl": nl}).analyze(fold("we zullen ze doden"), "nl")
    assert an.gated and {"P1", "FUT", "KILL"} <= frozenset().union(*(t.tags for t in an.tokens))


def test_weapon_emoji_are_words_of_the_post() -> None:
    """The full analysis keeps symbols as tokens: a knife emoji is a weapon the stance features see, not only
    the gate."""
    assert "WEAPON" in tags_of("enjoy your weekend 🔪", "🔪")


@pytest.mark.parametrize("text,verb", [
    ("سنطلق النار على موظفيكم", "سنطلق"),        # open + fire
    ("فسنطلق النار على مؤسسكم", "فسنطلق"),
    ("فليقطع رؤوسهم", "فليقطع"),                  # cut + heads
    ("سأقطع رأسها بنفسي", "ساقطع"),
    ("هنخلّص على مهندسيكم", "هنخلص"),            # Egyptian: finish + on
])
def test_arabic_verbs_violent_with_their_object(text: str, verb: str) -> None:
    assert "KILL" in tags_of(text, verb, "ar")


def test_arabic_verb_without_that_object_is_no_violence() -> None:
    an = read("قطع العلاقات الدبلوماسية", "ar")
    assert not an.gated and not an.harm


def test_german_feminine_and_plural_roles_are_people() -> None:
    """A second ``HUMAN:`` key in de.yaml once erased the first list (YAML keeps the last): roles lost their
    tag and threats against them read as having no target."""
    for word in ("journalistin", "moderatoren", "mitarbeiter", "ministerin"):
        assert "HUMAN" in tags_of(f"wir töten die {word}", word, "de"), word


def test_a_plural_verb_after_a_call_is_an_imperative() -> None:
    """"يا إخوة، غردوا": past and imperative are written alike; after a vocative it is a command."""
    an = default_analyzer().analyze(fold("يا إخوة، غردوا على الوسم"), "ar", full=True)
    tweet = next(t for t in an.tokens if t.norm == "غردوا")
    assert {"IMP", "P2"} <= tweet.tags and "PAST" not in tweet.tags
    alone = default_analyzer().analyze(fold("غردوا على الوسم"), "ar", full=True)
    assert "PAST" in next(t for t in alone.tokens if t.norm == "غردوا").tags


def test_a_phrase_of_hearsay_carries_no_modality() -> None:
    """"gedroht haben soll": the "soll" is the report's, not an obligation."""
    an = default_analyzer().analyze(fold("Er soll gedroht haben, die Moderatoren zu erschießen."), "de", full=True)
    hearsay = next(t for t in an.tokens if "REPORT" in t.tags)
    assert "DEONT" not in hearsay.tags


def test_a_plural_verb_after_another_command_is_one() -> None:
    """"اعرفوا وين ساكنين. بعدين صفوهم": find out where they live, then liquidate them."""
    an = default_analyzer().analyze(fold("اعرفوا وين ساكنين. بعدين صفوهم."), "ar", full=True)
    assert "IMP" in next(t for t in an.tokens if t.norm == "صفوهم").tags
    news = default_analyzer().analyze(fold("قتلوا خمسة أشخاص في الهجوم"), "ar", full=True)
    assert {"PAST", "P3"} <= next(t for t in news.tokens if t.norm == "قتلوا").tags


@pytest.mark.parametrize("text,lang", [("heute Abend wirst du bei FIFA vernichtet", "de"),
                                       ("we will bury them in the second half", "en"),
                                       ("رح اقتلك في الطاولة اليوم", "ar")])
def test_games_are_named_as_games(text: str, lang: str) -> None:
    an = default_analyzer().analyze(fold(text), lang, full=True)
    assert any("GAME" in t.tags for t in an.tokens)


def test_take_care_is_a_wish_not_a_veiled_threat() -> None:
    an = default_analyzer().analyze(fold("Passt auf euch auf, Gott schütze euch."), "de", full=True)
    assert not any("VEIL" in t.tags for t in an.tokens)


def test_in_front_of_the_office_is_a_place_not_a_veiled_threat() -> None:
    an = default_analyzer().analyze(fold("Unser Protest vor dem Büro ist friedlich."), "de", full=True)
    assert not any("VEIL" in t.tags for t in an.tokens)
    veiled = default_analyzer().analyze(fold("Wir stehen vor deiner Tür."), "de", full=True)
    assert any("VEIL" in t.tags for t in veiled.tokens)


def test_the_quick_reject_of_arabic_words_never_loses_a_parse() -> None:
    """``_may_parse`` settles words without listed stems early; any word a parse would tag passes it."""
    from bastion.threats.analysis import EVENT_TAGS, _arabic_parses

    a = default_analyzer()
    cores = a._ar_cores
    stems = sorted(c for c, t in cores.items() if len(c) > 2 or t & EVENT_TAGS)[:300]
    affixed = [pre + stem + suf for stem in stems for pre in ("", "و", "سن", "بي", "وال", "فلي")
               for suf in ("", "كم", "وهم", "ني", "ها")]
    for word in [*affixed, "مرحبا", "صباح", "الخير", "كتاب"]:
        parsed = any((t := cores.get(c)) and (len(c) > 2 or t & EVENT_TAGS) for c, _ in _arabic_parses(word))
        assert a._may_parse(word) or not parsed, word


def test_every_phrase_the_gates_read_has_an_anchor_among_its_words() -> None:
    """The gate looks phrases up only in a post holding one of its anchors: each phrase whose tags a gate reads
    must have a word there, or a post holding only that phrase would stay closed."""
    from bastion.threats.analysis import _GATE_READS

    a = default_analyzer()
    for lang, lx in a.lexicons.items():
        anchors = a._gate_anchors[lang]
        read = 0
        for words, tags in lx.phrase_list():
            if tags & _GATE_READS:
                read += 1
                assert anchors.intersection(words), (lang, words)
        assert read and len(anchors) < len(lx.phrases), lang  # fewer anchors than phrases' first words


@pytest.mark.parametrize(("text", "lang", "worth"), [
    ("Enjoy it while you can!", "en", False),  # everyday readings, and no one named
    ("Such a lovely family!", "en", False),  # the phrase's own words name no victim
    ("ننتظركم الليلة في الحفل", "ar", False),  # "we await you tonight at the party"
    ("Bis bald, wir sehen uns am Samstag!", "de", False),
    ("Enjoy it while you can, moderators.", "en", True),  # people named
    ("@TwitterSupport enjoy it while you can", "en", True),  # said to an account
    ("Tell your founder to check under their cars", "en", True),
    ("من حذف حساباتنا فلينتظر", "ar", True),  # a veiled-threat phrase with no everyday reading
])
def test_a_phrase_with_everyday_readings_wants_someone_named(text: str, lang: str, worth: bool) -> None:
    """``HINT`` phrases ("enjoy it while you can", "انتظروا", "bis bald") open the detector's gate only with
    someone or something to harm named outside them, or a handle; past the gate they read as ``VEIL``."""
    assert default_analyzer().analyze(fold(text), lang).gated  # training's gate opens on all of them
    assert default_analyzer().analyze(fold(text), lang, victim=True).gated is worth
    tags = [t.tags for t in default_analyzer().analyze(fold(text), lang, full=True).tokens]
    assert not any("HINT" in t for t in tags)
    assert any("VEIL" in t for t in tags)


def test_a_phrase_alone_opens_the_gate() -> None:
    """Posts whose only gate signal is a phrase, its anchor not its first word ("we know where ..." is anchored
    on "where" or a later word, not "we")."""
    for text, lang in (("we know where you live", "en"), ("your day is coming", "en"),
                       ("wir wissen, wo du wohnst", "de")):
        assert default_analyzer().analyze(fold(text), lang, victim=True).gated, text


@pytest.mark.parametrize(("text", "hint"), [
    ("we will shoot them all, the rats", "de"), ("wir werden sie alle erschießen", "de"),
    ("die the", "en"), ("die die die the the", "en"), ("der the", "de"), ("ok", "en"), ("und und the", "fr"),
    ("the and of to in die der und", None), ("a", "de"),
])
def test_the_post_s_own_language_is_kept_unless_another_leads_it_by_two(text: str, hint: str | None) -> None:
    a = default_analyzer()
    words = fold(text).split()
    votes = {lang: sum(w in lx.stop for w in words) for lang, lx in a._latin.items()}
    got = a.latin_language(words, hint)
    if hint in votes and max(votes.values()) < votes[hint] + 2:
        assert got == hint
    else:
        assert votes[got] == max(votes.values())  # the leader (a tie broken towards German letters or English)


def test_a_debated_subject_is_no_weapon_in_use_and_a_lament_condemns() -> None:
    topic = next(t for t in read("People should shut up about gun control", "en").tokens if t.norm == "gun control")
    assert "TOPIC" in topic.tags and "WEAPON" not in topic.tags
    guns = read("we will bring our guns and shoot you", "en")
    assert any("WEAPON" in t.tags for t in guns.tokens)  # guns themselves stay weapons
    assert "CONDEMN" in tags_of("Sad that a jet could just kill innocent people", "sad that", "en")


def test_a_word_the_stemmer_joins_to_a_verb_is_no_form_of_it() -> None:
    # Snowball stems "executive" and "execute" alike, "neutral" and "neutralise" (not_forms in en.yaml)
    assert tags_of("Executive Meeting Center", "executive", "en") == {"HUMAN"}
    assert tags_of("we stay neutral in this", "neutral", "en") == frozenset()
    assert "KILL" in tags_of("we will neutralize them", "neutralize", "en")
    assert "KILL" in tags_of("Twitter executives will be executed", "executed", "en")
    assert "KILL" in tags_of("Execute them all", "execute", "en")


def test_the_ending_of_a_story_is_fiction_and_your_end_is_still_death() -> None:
    # "if you tell me the ending I'll kill you 😂": the ending is a story's (CV misses in the Arabic idioms)
    assert "FICTION" in tags_of("لو قلتلي النهاية هموّتك 😂", "النهايه", "ar")
    assert "FICTION" in tags_of("إذا خبّرتني شو صار بالنهاية رح ادبحك", "بالنهايه", "ar")
    assert "FICTION" in tags_of("if you tell me the ending I will kill you", "ending", "en")
    assert "DEATH" in tags_of("نهايتكم قريبة يا موظفي تويتر", "نهايتكم", "ar")
    assert "FICTION" not in tags_of("نهايتكم قريبة يا موظفي تويتر", "نهايتكم", "ar")


def test_arabic_places_in_the_plural_and_the_passive_of_exterminate() -> None:
    # probes of threats against groups: "سنحرق كل الكنائس" (we will burn all the churches) had no place in it,
    # "يجب أن يباد ..." (... must be exterminated) no act at all
    assert "PLACE" in tags_of("سنحرق كل الكنائس في هذه المدينة", "الكنايس", "ar")
    assert "PLACE" in tags_of("فجروا الكنيسة والمساجد", "والمساجد", "ar")
    assert {"KILL", "PASS"} <= tags_of("يجب أن يباد المرتدون", "يباد", "ar")
    assert "PASS" not in tags_of("سنبيد المرتدين", "سنبيد", "ar")


def test_arabic_words_of_ordinary_posts_hold_no_violence() -> None:
    # Arabic ordinary posts of tvec-dev flagged at 0.5: stems found inside words that are no form of them
    for text, word in (("جوجل تعمل على دمج نظام أندرويد", "دمج"),      # merge: no "دم" (blood) + Gulf "you"
                       ("قصة آدم وحواء", "ادم"),                       # Adam: no "I bleed"
                       ("يجب تسميتها دمية بلا شرف", "دميه"),           # a doll
                       ("المشاركة الحقيقية في تنميته", "تنميته"),      # its development: no form VII of "dead"
                       ("إخراج الفيلم رائع", "اخراج"),                  # directing: no "خرا" + "you"
                       ("مركز شبابيك بالمقطم", "شبابيك"),               # windows: no "youth" + "you"
                       ("على قناة العربية الليلة", "العربيه"),          # the channel: no "Arabs"
                       ("الراسخون في العلم والمؤتون الزكاة", "والموتون")):  # those who give: no "death"
        assert tags_of(text, word, "ar") == frozenset(), word
    assert "KILL" not in tags_of("مفيش حد يستاهل غير اهلك", "اهلك", "ar")  # your family
    assert "TOPIC" in tags_of("المسؤول عن وقف إطلاق النار في سوريا", "وقف اطلاق النار", "ar")  # a ceasefire
    assert "IDIOM" in tags_of("بلاش شغل مقبرة النجوم", "مقبره النجوم", "ar")
    assert "IDIOM" in tags_of("دمك خفيف يا صاحبي", "دمك خفيف", "ar")  # light of blood: funny


def test_arabic_violence_the_fixes_above_keep() -> None:
    assert {"KILL", "O2", "P2"} <= tags_of("سأذبحج", "ساذبحج", "ar")  # the Gulf "you" (f.) on a verb of violence
    assert {"DEATH", "P2"} <= tags_of("سنسفك دمك", "دمك", "ar")     # your blood
    assert {"DEATH", "P2"} <= tags_of("سنسفك دمكم", "دمكم", "ar")
    assert "KILL" in tags_of("اللهم أهلك موظفي تويتر", "اللهم اهلك", "ar")  # destroy, in a prayer against them
    assert "KILL" in tags_of("الله يهلكهم", "يهلكهم", "ar")
    assert "HUMAN" in tags_of("هؤلاء يستحقون الموت", "هولاء", "ar")   # these (people) deserve death
    assert "DEONT" in tags_of("هؤلاء يستحقون الحرق أحياء", "يستحقون الحرق", "ar")


def test_wordings_of_threats_against_groups() -> None:
    # the eighth round of probes: hunting people, paying with blood in Arabic, "time to", "stop telling"
    assert "HURT" in tags_of("Ich mache Jagd auf die Ausländer", "jagd auf", "de")
    assert tags_of("Wir gehen morgen auf die Jagd", "jagd", "de") & {"HURT", "KILL"} == frozenset()  # animals
    assert "PAY" in tags_of("سيدفع اللاجئون الثمن بدمائهم", "سيدفع", "ar")
    assert {"DEATH", "P3"} <= tags_of("سيدفع اللاجئون الثمن بدمائهم", "بدمايهم", "ar")
    assert "HURT" in tags_of("سنطارد المثليين في هذه المدينة", "سنطارد", "ar")
    assert "DEONT" in tags_of("حان وقت إبادة الأجانب", "حان وقت", "ar")
    assert "CONDEMN" in tags_of("Stop telling refugees they deserve to die.", "stop telling", "en")
    assert "KILL" in tags_of("يجب القضاء على اللاجئين", "القضاء علي", "ar")  # to eliminate
    assert "PRAYER" in tags_of("يجب أن نحمي اللاجئين من العنف", "نحمي", "ar")  # to protect, as "protect" is


def test_threats_of_beatings_and_pain() -> None:
    # the tenth round of probes: the violence short of death
    assert tags_of("I'm going to beat up the next guy I see", "beat up", "en") == {"HURT"}  # no game's win
    assert "HURT" in tags_of("I will make the refugees suffer", "make", "en")
    assert "HURT" in tags_of("Wir greifen die Muslime heute Nacht an", "greifen", "de")  # angreifen, separated
    assert "HURT" in tags_of("Ich werde allen Ausländern wehtun", "wehtun", "de")
    assert not read("Das tut weh, aber ich komme darüber hinweg.", "de").gated  # it hurts: no threat
    assert "HURT" in tags_of("سأكسر أرجل كل اللاجئين هنا", "ساكسر", "ar")  # breaking legs ...
    assert "HURT" not in tags_of("كسر الحصار عن المدينة", "كسر", "ar")  # ... not a siege
    assert {"HURT", "FUT", "P1"} <= tags_of("سأؤذي كل اليهود", "ساوذي", "ar")
    # ... and getting rid of people, with a condemnation after a quoted call
    assert "KILL" in tags_of("Wir sollten sie ein für alle Mal loswerden", "ein für alle mal loswerden", "de")
    assert "CONDEMN" in tags_of("قول اقتلوا كل اللاجئين غير مقبول أبدا", "غير مقبول", "ar")


def test_a_photo_s_place_names_no_one_and_breaking_needs_an_object() -> None:
    # ordinary tweets of tvec-dev flagged at 0.9: the place a photo was tagged at ("@ Stone Arch Bridge", "@ St.
    # Albans, Queens") had given them a weapon and people; "my lovely family" is no veiled threat's
    assert [t.norm for t in read("Home comes to you @ Stone Arch Bridge", "en").tokens] == ["home", "comes", "to",
                                                                                             "you"]
    assert "@" in [t.norm for t in read("What a lovely family you have, @jack.", "en").tokens]  # a handle stays
    assert "VEIL" not in tags_of("Missing my lovely family back home", "my lovely family", "en")
    assert "HURT" not in tags_of("Spring break is here", "break", "en")  # a holiday, a record, the rules ...
    assert "HURT" in tags_of("I will break your legs", "break", "en")   # ... but legs, necks and people
    assert "HURT" in tags_of("We will break you, moderators.", "break", "en")
    assert not read("Time to cut off people who drain your energy.", "en").gated  # ... and "cut" too
    assert "HURT" in tags_of("I will cut you", "cut", "en")
    assert "IDIOM" in tags_of("Cut me some slack, it's Monday.", "cut me some slack", "en")
    assert "IDIOM" in tags_of("or just trying to drive a point home?", "drive a point home", "en")
    assert "KILL" in tags_of("Every one of them deserves to be strung up.", "strung up", "en")  # hanged


def test_everyday_idioms_of_real_tweets_are_no_acts() -> None:
    # ordinary tweets flagged at 0.5 in tvec-dev: fun, love, photos, drinks, an argument, and a stem
    assert "IDIOM" in tags_of("went out and had a blast with friends", "had a blast", "en")
    assert "DESTROY" not in tags_of("went out and had a blast with friends", "had a blast", "en")
    assert "IDIOM" in tags_of("happy birthday, love you to death", "love you to death", "en")
    assert "IDIOM" in tags_of("it should have been a dead giveaway", "a dead giveaway", "en")
    assert "IDIOM" in tags_of("need some head shots for my portfolio", "head shots", "en")
    assert tags_of("one must have liquids before long flights", "liquids", "en") == frozenset()
    assert "KILL" in tags_of("we will liquidate them", "liquidate", "en")
    assert "DESTROY" in tags_of("a blast at the market killed five", "blast", "en")  # the explosion stays


def test_a_time_phrase_is_no_act() -> None:
    # "فجر" unvowelled is dawn or "he blew up": "فجر الغد" is dawn tomorrow
    assert tags_of("وأعود فجر الغد إلى المدينة", "فجر الغد") == {"NEAR"}
    assert "DESTROY" in tags_of("فجر الانتحاري نفسه في السوق", "فجر")


def test_hang_with_no_object_is_the_subject_s_death() -> None:
    # "they will hang from the lampposts": they are hanged; "hang the picture" keeps its object
    assert {"DEATH", "KILL"} <= tags_of("They will hang from the lampposts", "hang from", "en")
    assert "DEATH" not in tags_of("I will hang the picture from the wall", "hang", "en")


@pytest.mark.parametrize("text,lang,phrase", [
    ("Your virtual war on us will cause a real war on you.", "en", "real war on"),
    ("Twitter employees are legitimate targets now.", "en", "legitimate targets"),
    ("Die Mitarbeiter sind legitime Ziele.", "de", "legitime ziele"),
    ("موظفو تويتر أهداف مشروعة", "ar", "اهداف مشروعه"),
    ("The soldiers of the caliphate will reach you wherever you are.", "en", "reach you wherever"),
    ("Our swords are ready for your necks.", "en", "ready for your necks"),
    ("سيوفنا جاهزة لرقابكم", "ar", "سيوفنا جاهزه"),
])
def test_the_2014_wordings_are_veiled_threats(text: str, lang: str, phrase: str) -> None:
    assert "VEIL" in tags_of(text, phrase, lang)


def test_everyday_wordings_near_them_are_not() -> None:
    for text in ("Your tickets will reach you within 3 days.", "Wherever you are in the world, happy new year!",
                 "Young voters are a target for both campaigns."):
        assert not any("VEIL" in t.tags for t in read(text, "en").tokens), text


def test_taking_a_breath_is_a_death_and_never_coming_back_to_life_too() -> None:
    text = "When our lone wolves come and take your breath, you will never come back to life."
    assert "DEATH" in tags_of(text, "take your breath", "en")
    assert "DEATH" in tags_of(text, "will never come back to life", "en")
    # coming back to life is no death: "the campus comes back to life"
    assert not any("DEATH" in t.tags for t in read("Nice seeing the campus come back to life.", "en").tokens)


def test_a_war_fought_online_is_no_act_of_violence() -> None:
    # "your virtual war on us": a war of words and accounts, set against the "real war" the threat promises
    assert tags_of("Your virtual war on us will cause a real war on you.", "virtual war", "en") == {"TOPIC"}
    assert "HURT" not in tags_of("حربكم الافتراضية علينا", "حربكم الافتراضيه")


@pytest.mark.parametrize("text,lang,phrase,tag", [
    ("Every account you close will cost you a life.", "en", "cost you a life", "DEATH"),
    ("Tell your moderators to say goodbye to their families.", "en", "say goodbye to their families", "VEIL"),
    ("Moderators, the knives are sharpened for you.", "en", "knives are sharpened", "VEIL"),
    ("Sagt euren Familien Lebewohl.", "de", "familien lebewohl", "VEIL"),
    ("ودعوا عائلاتكم", "ar", "ودعوا عايلاتكم", "VEIL"),
    ("Your families will mourn you.", "en", "will mourn you", "VEIL"),
    ("Ihr werdet euer blaues Wunder erleben.", "de", "blaues wunder", "VEIL"),
    ("Eure Familien werden um euch weinen.", "de", "um euch weinen", "VEIL"),
    ("ستبكي عليكم عائلاتكم", "ar", "ستبكي عليكم", "VEIL"),
    ("إذا استمريتم بحذف حساباتنا سينزف موظفوكم", "ar", "سينزف", "HURT"),
    ("Whoever silences us must be silenced forever.", "en", "silenced forever", "DEATH"),
    ("Wer uns zensiert, muss für immer zum Schweigen gebracht werden.", "de", "für immer zum schweigen", "DEATH"),
    ("يجب إسكاتهم للأبد", "ar", "اسكاتهم للابد", "DEATH"),
    ("Brothers, find the Twitter engineers and make them pay.", "en", "make them pay", "VEIL"),
    ("Die Zensoren sind vogelfrei.", "de", "vogelfrei", "VEIL"),
    ("يا إخوة، جدوا مهندسي تويتر واجعلوهم يدفعون الثمن", "ar", "واجعلوهم يدفعون الثمن", "VEIL"),
    ("Jeder Twitter-Mitarbeiter ist jetzt ein Ziel für unsere Brüder.", "de", "ziel für unsere", "VEIL"),
    ("Wir beenden ihn vor eurer Haustür.", "de", "vor eurer haustür", "VEIL"),
    ("موظفوكم لم يعودوا في أمان", "ar", "لم يعودوا في امان", "VEIL"),
    ("ونحن سننهيها على أبوابكم", "ar", "علي ابوابكم", "VEIL"),
    ("Eure Mitarbeiter sind nicht mehr sicher. Wir sind schon unter ihnen.", "de", "schon unter ihnen", "VEIL"),
])
def test_threats_against_staff_in_other_words(text: str, lang: str, phrase: str, tag: str) -> None:
    assert tag in tags_of(text, phrase, lang)


@pytest.mark.parametrize("text", ["Sunscreen can't protect you from everything.", "Say goodbye to your old phone!",
                                  "This mistake will cost you a lot of money.",
                                  "The new app will make you pay monthly."])
def test_their_everyday_neighbours_are_not(text: str) -> None:
    assert not any(t.tags & {"VEIL", "DEATH"} for t in read(text, "en").tokens), text


def test_whose_doors_the_arabic_possessive_says() -> None:
    """"أبوابكم" (your doors): the plural of "باب" is a place whose suffix names whom it belongs to."""
    assert "P2" in tags_of("سنكون على أبوابكم قريبا", "علي ابوابكم", "ar")


def test_the_dead_are_people_not_an_act() -> None:
    """"The dead", "the wounded": people named by what befell them, as "die Toten" are in German; joining the
    dead, or being among them, is still a death."""
    for text in ("The dead are PKK, the fighters are arabs?", "Even so will be the resurrection of the dead."):
        assert not any(t.tags & HARM_TAGS for t in read(text, "en").tokens), text
    assert "HUMAN" in tags_of("The wounded were taken to hospital.", "the wounded", "en")
    assert "DEATH" in tags_of("You will join the dead soon.", "join the dead", "en")


def test_an_arabic_accident_in_the_news_is_no_veiled_threat() -> None:
    """"حادث" is the news' word for an accident or an incident ("حادث سيارة", "حادث كنيسة ..."); only being
    exposed to one ("قد تتعرض لحادث") has the veiled threat's everyday reading."""
    an = read("إصابة 16 جنديا في حادث طائرة", "ar")
    assert not any(t.tags & {"VEIL", "HINT"} for t in an.tokens)
    assert "VEIL" in tags_of("احذر، قد تتعرض لحادث يا موظف تويتر", "تتعرض لحادث", "ar")  # past the gate


def test_episodes_are_a_show() -> None:
    assert "FICTION" in tags_of("انتظرونا قريبا وحلقات خاصة مع النجوم", "وحلقات", "ar")  # not "throats"


def test_coming_for_you_needs_someone_named() -> None:
    """"I'm coming for you" closes its post alone (a check-in, a rivalry); with someone named it is the veiled
    threat it can be."""
    analyzer = default_analyzer()
    assert not analyzer.analyze(fold("Oooh I'm coming for you. @ Houston, Texas"), "en", victim=True).gated
    assert analyzer.analyze(fold("Twitter staff, we are coming for you."), "en", victim=True).gated


def test_german_sie_is_you_when_the_sentence_addresses_someone_by_title() -> None:
    """Folding loses the capital of the formal "Sie"; a title in the address ("..., Frau Kuhnert") says it."""
    assert "P2" in tags_of("Sie werden dieses Jahr nicht überleben, Frau Kuhnert.", "sie", "de")
    assert "P2" in tags_of("Herr Albers, Sie werden bezahlen.", "sie", "de")
    said = tags_of("Frau Kuhnert sagt, sie werde das nicht überleben.", "sie", "de")  # a subject, not an address
    assert "P3" in said and "P2" not in said


@pytest.mark.parametrize("text,word,tag", [
    ("Like I will emotionally destroy you.", "emotionally", "IDIOM"),      # harm in another sense
    ("Money for refugees will destroy the budget.", "budget", "NONHUMAN"),  # a policy, no one to harm
    ("They will kill their health care.", "health care", "TOPIC"),
    ("Little jars of blood clots.", "blood clots", "IDIOM"),                 # blood in medicine
])
def test_harm_to_no_one(text: str, word: str, tag: str) -> None:
    assert tag in tags_of(text, word, "en")


def test_a_listed_arabic_form_with_its_prefix_takes_its_object() -> None:
    """"سنعلقكم" (we will hang you) is listed whole, since "علق" alone is mostly "to comment": its prefix says
    who and when, its suffix whom. A bare plural ("صفوهم") is left for its context to read."""
    hang = tags_of("سنعلقكم على أعمدة الكهرباء", "سنعلقكم", "ar")
    assert {"FUT", "P1", "O2", "P2", "KILL"} <= hang


@pytest.mark.parametrize("text,lang,phrase,tag", [
    ("Kill them all and show no mercy.", "en", "show no mercy", "DEONT"),  # not a prayer's "mercy", a show's "show"
    ("Tötet sie alle, keine Gnade.", "de", "keine gnade", "DEONT"),
    ("سوف نذبح كل من يخالفنا", "ar", "كل من", "HUMAN"),                      # everyone who: the act's target
])
def test_mercy_refused_and_everyone_who(text: str, lang: str, phrase: str, tag: str) -> None:
    assert tag in tags_of(text, phrase, lang)


@pytest.mark.parametrize("text,lang", [
    ("Death to them, kill them all. That was the chant of the crowd yesterday.", "en"),
    ("اقتلوهم جميعا\nهذا ما هتف به المتظاهرون أمس.", "ar"),
    ("Hängt sie auf. Das riefen die Demonstranten gestern.", "de"),
])
def test_words_attributed_after_them_are_a_quotation(text: str, lang: str) -> None:
    """Quoted without quotation marks: a sentence pointing back with a saying in its first words makes what came
    before it a quotation."""
    an = read(text, lang)
    harm = [t for t in an.tokens if t.tags & HARM_TAGS]
    assert harm and all(t.quoted for t in harm)
    assert an.quotes and an.quotes[0][0] == 0


@pytest.mark.parametrize("text", [
    "We will kill them all. That is what we promised.",  # the author's own words: "we" in the attribution
    'He wrote "traitors". Kill them all. That was the chant.',  # a marked quotation says itself what is quoted
    "Kill them all. That was a great game.",  # no saying
])
def test_no_quotation_without_someone_else_s_saying_after_it(text: str) -> None:
    an = read(text, "en")
    assert not any(t.quoted for t in an.tokens if "KILL" in t.tags)


@pytest.mark.parametrize("text,word,tag", [
    ("so die in your rage", "die in your rage", "IDIOM"),
    ("موتوا بغيظكم يا حاقدين", "موتوا بغيظكم", "IDIOM"),
    ("people who have no need to own a rifle", "have no need", "NEG"),
])
def test_rage_and_no_need(text: str, word: str, tag: str) -> None:
    assert tag in tags_of(text, word)


def test_take_care_of_yourself_is_no_veiled_threat_and_a_number_no_time() -> None:
    assert not any(t.tags & {"VEIL", "HINT"} for t in read("take care of yourself, @friend", "en").tokens)
    assert "SOON" not in tags_of("left a number of deaths", "number", "en")
    assert "SOON" in tags_of("your days are numbered, traitors", "days are numbered", "en")


@pytest.mark.parametrize("text,word,tag", [
    ("End the death penalty for apostates", "death penalty", "TOPIC"),  # punishment by law, debated
    ("You have blood on your hands, minister", "blood on your hands", "IDIOM"),
    ("Europe needs new blood", "new blood", "IDIOM"),
    ("It breaks my heart to see it", "breaks my heart", "IDIOM"),
    ("Donate to families in need", "in need", "HUMAN"),  # people, no obligation
    ("Lo! thou wilt die", "thou", "PRAYER"),  # scripture's voice
])
def test_words_of_violence_in_debate_idiom_and_scripture(text: str, word: str, tag: str) -> None:
    tags = tags_of(text, word, "en")
    assert tag in tags
    if tag in ("TOPIC", "IDIOM", "HUMAN"):
        assert "DEONT" not in tags and tags.isdisjoint({"KILL", "HURT", "DESTROY"})


def test_a_heart_broken_by_someone_else_is_still_read() -> None:
    """Only one's own broken heart is the idiom: "break your heart, then your neck" keeps its harm."""
    assert not any("IDIOM" in t.tags for t in read("We will break your heart first, then your neck.", "en").tokens)


@pytest.mark.parametrize("text,word,tag", [
    ("شاهدة عيان: يحرقون الإطارات", "شاهده عيان", "REPORT"),  # an eyewitness's account is reported
    ("فرصة للمصالحة وحقن الدماء", "وحقن الدماء", "IDIOM"),  # sparing blood
    ("فعلا هنتنفس هباب اسود وهنموت كلنا", "وهنموت كلنا", "IDIOM"),  # the speaker's own fate, a lament
])
def test_arabic_eyewitness_spared_blood_and_our_own_fate(text: str, word: str, tag: str) -> None:
    assert tag in tags_of(text, word, "ar")


def test_a_bleeding_heart_leaves_the_threat_after_it() -> None:
    """Grief is no idiom that silences the rest of its sentence: "قلبي يقطر دما، وسنقتلكم قريبا" keeps its
    killing."""
    an = read("قلبي يقطر دما، وسنقتلكم قريبا.", "ar")
    assert not any("IDIOM" in t.tags for t in an.tokens)
    assert any("KILL" in t.tags and "FUT" in t.tags for t in an.tokens)


@pytest.mark.parametrize("text,word", [
    ("The Islamic State will kill you all", "state"),  # the stem of "stated" is no saying
    ("Answer the call, brothers", "call"),  # nor that of "called" / "calls"
    ("We plan to kill them", "plan"),  # nor that of "planned"
    ("We vow to kill them", "vow"),  # nor that of "vowed"
])
def test_a_noun_or_present_is_not_its_past_s_report(text: str, word: str) -> None:
    assert tags_of(text, word, "en").isdisjoint({"REPORT", "THREATN"})


@pytest.mark.parametrize("text,word,tag", [
    ("he stated that they will come", "stated", "REPORT"),
    ("supporters vowed to kill", "vowed", "REPORT"),
    ("he planned to kill", "planned", "THREATN"),
])
def test_the_past_forms_still_report(text: str, word: str, tag: str) -> None:
    assert tag in tags_of(text, word, "en")


def test_a_dead_end_is_no_dead_one() -> None:
    assert "IDIOM" in tags_of("this is a dead end promotion", "is a dead end", "en")
    assert "DEONT" in tags_of("the only good terrorist is a dead terrorist", "is a dead", "en")


@pytest.mark.parametrize("text,word,not_tags", [
    ("Das wird Folgen haben", "folgen", {"FICTION", "NONHUMAN"}),  # consequences, not an episode
    ("Wir planen, euch zu töten", "planen", {"THREATN", "NONHUMAN"}),  # planning is intent, no plan's report
    ("vor euren Toren", "toren", {"GAME"}),  # gates, not goals
    ("Ihr werdet dieses Jahr nicht überleben", "jahr", {"NEWS"}),  # a year, not a prison term
])
def test_german_stems_that_are_common_words(text: str, word: str, not_tags: set[str]) -> None:
    assert tags_of(text, word, "de").isdisjoint(not_tags)


def test_german_nouns_keep_their_own_tags() -> None:
    assert "FICTION" in tags_of("In der nächsten Folge", "folge", "de")
    assert "NEWS" in tags_of("zu drei Jahren Haft", "jahren", "de")


def test_the_german_reflexive_is_no_safety() -> None:
    """"sicher" (safe) stems to "sich", the reflexive pronoun of every other German sentence."""
    assert "SAFE" not in tags_of("Sie freut sich auf das Spiel", "sich", "de")
    assert "SAFE" in tags_of("Ihr seid nirgendwo mehr sicher", "sicher", "de")


def test_a_listed_arabic_form_with_ta_and_a_plural_ending_is_you() -> None:
    """"تعدم" is listed whole (the bare stem "عدم" is "lack"); its "ت" is "you" or "she", and with the plural ending
    "ون" only "you": "سوف تعدمون جميعا" (you will all be executed) names whom it threatens."""
    assert "P2" in tags_of("سوف تعدمون جميعا", "تعدمون", "ar")
    assert "P2" in tags_of("ستصطفون وتعدمون", "وتعدمون", "ar")
    assert "P2" not in tags_of("تعدم السلطات السجناء", "تعدم", "ar")  # alone: she / it


@pytest.mark.parametrize("text,word,tag,lang", [
    ("Your office is on our list now", "on our list", "VEIL", "en"),  # past the gate, a hint is read as veiled
    ("Euer Büro steht jetzt auf unserer Liste", "auf unserer liste", "VEIL", "de"),
    ("I'd put them all in a gas chamber", "gas chamber", "KILL", "en"),
    ("Jeder Moderator wird mit seinem Leben bezahlen", "mit seinem leben bezahlen", "DEATH", "de"),
    ("كل مشرف سيدفع حياته ثمنا", "سيدفع حياته", "DEATH", "ar"),
    ("your engineers start disappearing one by one", "start disappearing", "VEIL", "en"),
    ("سيختفي مهندسوكم واحدا تلو الآخر", "سيختفي", "VEIL", "ar"),
    ("لدينا عنوان بيتك. نم بعين مفتوحة", "نم بعين", "VEIL", "ar"),
    ("اللهم مكنا من رقاب موظفي تويتر", "مكنا من رقاب", "VEIL", "ar"),  # a prayer for power over their necks
    ("سنجعلكم عبرة لكل من يحذف حساباتنا", "سنجعلكم عبره", "VEIL", "ar"),
])
def test_veiled_threats_in_other_words(text: str, word: str, tag: str, lang: str) -> None:
    """Lists, disappearing staff, an open eye, an example made, paying with one's life, a gas chamber."""
    assert tag in tags_of(text, word, lang)


def test_dialect_heads_are_cut_too() -> None:
    """"روسكم" is the spoken spelling of "رؤوسكم" (your heads), the object that makes "قطع" a beheading."""
    assert "KILL" in tags_of("حنقطع روسكم كلكم", "حنقطع", "ar")


@pytest.mark.parametrize("text,word,lang", [
    ("You will be slaughtered like the sheep you are", "like the sheep", "en"),
    ("Ihr werdet abgeschlachtet wie die Schafe", "wie die schafe", "de"),
    ("ستذبحون جميعا كالخراف", "كالخراف", "ar"),
])
def test_an_animal_in_a_simile_is_an_insult_not_the_target(text: str, word: str, lang: str) -> None:
    tags = tags_of(text, word, lang)
    assert "INSULT" in tags and "NONHUMAN" not in tags


def test_burning_down_in_german_one_word() -> None:
    assert "DESTROY" in tags_of("dass ihr Büro mit allen drin abbrennt", "abbrennt", "de")


@pytest.mark.parametrize("text,lang", [
    ("We will kill you all, the militant said in the video.", "en"),
    ("Wir werden euch alle töten, sagte der Mann laut Polizei.", "de"),
    ("سنقتلكم جميعا، قال المسلح في الفيديو.", "ar"),
    ("We will kill you all,” the militant wrote.", "en"),  # a closing mark with no opening one
])
def test_a_trailing_attribution_quotes_the_clauses_before_it(text: str, lang: str) -> None:
    an = read(text, lang)
    assert an.quotes and all(t.quoted for t in an.tokens if "KILL" in t.tags)


@pytest.mark.parametrize("text", [
    "We will kill you all, I said.",  # the author's own words
    "We will kill you all, as Allah says.",  # a justification, no attribution
    "We will kill you, just like you said.",
    "We will kill you all, and then we will burn your office.",  # no saying
])
def test_no_trailing_attribution_without_someone_else_s_saying(text: str) -> None:
    assert not any(t.quoted for t in read(text, "en").tokens if "KILL" in t.tags)


def test_a_present_stem_s_own_letters_are_no_future_prefix() -> None:
    """"ستهدف" is listed as the present stem of "استهدف" (to target); after the person prefix of "يستهدف" (he
    targets) its "س" and "ت" are the stem's, not the future and "you" ("#الجيش_السوري يستهدف مقرا": news)."""
    assert tags_of("الجيش يستهدف مقرا للمجموعات", "يستهدف", "ar") & {"FUT", "P2"} == set()
    assert {"FUT", "P1"} <= tags_of("سنستهدف مقركم", "سنستهدف", "ar")  # the future before the person stays
    assert {"FUT", "P1", "O2"} <= tags_of("سنعدمكم جميعا", "سنعدمكم", "ar")  # a listed form's own prefix stays


@pytest.mark.parametrize("text,word,person", [
    ("الميليشيات تستهدف منازل المواطنين", "تستهدف", "P3"),  # after a definite noun, its subject: "she"
    ("القوات تقصف المدينة", "تقصف", "P3"),
    ("أيها الكافر ستموت قريبا", "ستموت", "P2"),  # the noun is called on: "you"
    ("الدولة الإسلامية ستذبحكم", "ستذبحكم", "P2"),  # an object suffix: the one harmed is "you"
    ("ستموت قريبا", "ستموت", "P2"),  # no noun before it
])
def test_arabic_ta_after_a_definite_noun_is_she(text: str, word: str, person: str) -> None:
    tags = tags_of(text, word, "ar")
    assert person in tags and ({"P2", "P3"} - {person}).isdisjoint(tags - {"O2"} if person == "P2" else tags)


def test_the_fa_of_an_arabic_consequence_ends_its_condition() -> None:
    """"إذا رأيت أحدا منهم الليلة فهم أموات": the "ف" opens the consequence as a comma does in English, so the
    death after it is the condition's consequence (a future), not part of the condition."""
    an = read("إذا رأيت أيا من اللاجئين الليلة فهم أموات.", "ar")
    norms = [t.norm for t in an.tokens]
    assert norms.index(",") == norms.index("فهم") - 1
    assert "," not in [t.norm for t in read("رأيت أيا من اللاجئين الليلة فهم أموات.", "ar").tokens]  # no condition
    assert "," not in [t.norm for t in read("إذا رأيت أيا من اللاجئين فهمت الأمر.", "ar").tokens]  # no particle


@pytest.mark.parametrize("text,phrase,tags,lang", [
    # a bounty that names whoever would do it names the act's agent, as "whoever" does
    ("The first one to shoot a Twitter employee gets a prize.", "first one to", {"BOUNTY", "GEN"}, "en"),
    ("مكافأة لمن يقتل موظفا", "مكافاه لمن", {"BOUNTY", "GEN"}, "ar"),
    # a police appeal asks about an act: what follows is reported, not called for
    ("Police offer a reward for information on whoever killed the moderator.", "information on", {"REPORT"}, "en"),
])
def test_bounties_name_their_agent_and_appeals_report(text: str, phrase: str, tags: set[str], lang: str) -> None:
    assert tags <= tags_of(text, phrase, lang)


@pytest.mark.parametrize("text,quoted", [
    ("IS supporters: 'Your engineers will not be safe on their way home.'", True),  # a headline's quotation
    ("I said 'we will kill you' and I meant it", True),
    ("'We don't forget.' they wrote", True),  # an apostrophe inside a word is no end
    ("We will kill the employees' families", False),  # an apostrophe
    ("The 'soldiers' will kill you", False),  # one word: scare quotes, no quotation
])
def test_straight_single_quotes_that_pair_quote(text: str, quoted: bool) -> None:
    an = read(text, "en")
    assert bool(an.quotes) is quoted
    if quoted:
        assert all(t.quoted for t in an.tokens if t.tags & {"KILL", "VEIL"} or t.norm == "forget")


def test_arabic_staff_not_safe_in_the_third_person_is_veiled() -> None:
    """"لن يكونوا في أمان" (they will not be safe) of "your employees", as English "will not be safe" in any person."""
    assert "VEIL" in tags_of("موظفوكم لن يكونوا في أمان في طريقهم إلى بيوتهم.", "لن يكونوا في امان", "ar")


def test_german_stop_opens_an_ultimatum_as_often_as_counter_speech() -> None:
    """Bare "Hört auf" (stop!) is no condemnation: "Hört auf, unsere Konten zu löschen, sonst brennt euer Büro" is an
    ultimatum; "hört auf zu sagen, ..." (stop saying) still condemns."""
    an = read("Hört auf, unsere Konten zu löschen, sonst brennt euer Büro.", "de")
    assert not any("CONDEMN" in t.tags for t in an.tokens)
    assert "CONDEMN" in tags_of("Hört auf zu sagen, dass Muslime getötet werden sollen.", "hört auf zu sagen", "de")


def test_german_you_are_next_after_the_verb() -> None:
    """After a condition the verb comes first: "Löscht ihr noch einen Account, seid ihr dran" (you're next)."""
    assert "VEIL" in tags_of("Löscht ihr noch einen Account, seid ihr dran.", "seid ihr dran", "de")


def test_agreeing_with_a_quoted_threat_adopts_it() -> None:
    """"Er schrieb „tötet sie alle“, und er hat recht": the call is the author's; nothing is quoted or reported."""
    an = read("Er schrieb „tötet sie alle“, und er hat recht.", "de")
    assert not an.quotes and not any(t.quoted for t in an.tokens)
    assert not any("REPORT" in t.tags for t in an.tokens)


def test_an_elliptical_commitment_reads_the_quoted_act_again_in_the_author_s_voice() -> None:
    """The issue's example: "he said 'kill them', and he is right, we will" - "we will [kill them]"."""
    an = read("he said 'kill them', and he is right, we will", "en")
    norms = [t.norm for t in an.tokens]
    assert norms[-4:] == ["we", "will", "kill", "them"]
    copy = an.tokens[-2]
    assert copy.start == copy.end and not copy.quoted and "KILL" in copy.tags and "IMP" not in copy.tags


def test_agreeing_with_reported_words_adopts_them() -> None:
    """Without quotation marks: "Der Typ schreibt, der Chef gehört erschossen. Recht hat er." - the writing no
    longer reports the act."""
    an = read("Der Typ schreibt, der Chef gehört erschossen. Recht hat er.", "de")
    assert not any("REPORT" in t.tags for t in an.tokens)


@pytest.mark.parametrize("text", [
    'They said "we will kill you". We will never give in.',  # negation
    'They said "we will kill you". We will stand together against them.',  # a verb of its own
    'They wrote "we will kill you all". This is definitely terrorism.',  # an intensifier, no agreement
    'He wrote "kill them all" and he is wrong. We will report him.',
    'They said "we will kill you". Disgusting, and exactly why we report them.',  # condemnation
])
def test_no_adoption_without_agreement_or_an_elliptical_commitment(text: str) -> None:
    an = read(text, "en")
    assert an.quotes and all(t.quoted for t in an.tokens if "KILL" in t.tags)


def test_the_act_read_again_is_no_evidence_span() -> None:
    from bastion.text.normalize import fold_with_offsets
    from bastion.threats.stance import evidence

    text = "he said 'kill them', and he is right, we will"
    folded, offsets = fold_with_offsets(text)
    spans = evidence(default_analyzer().analyze(folded, "en", full=True), offsets, text)
    assert [s for s in spans if s[2] == "harm:kill"] == [(9, 13, "harm:kill", "kill")]


def test_german_optative_is_a_wish_not_a_modal() -> None:
    """"Möge er qualvoll krepieren" (may he die in agony): "möge" is the optative, not a modal of possibility."""
    tags = tags_of("Der Twitter-Chef? Möge er qualvoll krepieren.", "möge", "de")
    assert "WISH" in tags and "MODAL" not in tags


def test_straight_quotes_pair_on_one_line_in_one_pass() -> None:
    """Pairs are found in one pass over the text (no regular expression that backtracks over a long post with an
    opening quote and no partner): each opening quote takes the next closing one on its line."""
    from bastion.threats.analysis import _straight_quotations

    assert _straight_quotations("x 'a b' y") == [(2, 6)]
    assert _straight_quotations("'line one\nline two'") == []  # a quotation stays on its line
    assert _straight_quotations("'a\nb' 'c d'") == [(6, 10)]
    assert _straight_quotations("'word " + "x " * 12_000) == []  # no partner: nothing, and no blow-up


def test_arabic_praying_that_something_happen_is_a_wish() -> None:
    """"أدعو كل يوم أن يذبح ..." (I pray every day that ... be slaughtered) wishes it, as English "pray that" does;
    "أدعو لكم" (I pray for you) stays a prayer, and "ألا" (that ... not) is no "أن"."""
    tags = tags_of("أدعو كل يوم أن يذبح موظفو تويتر.", "ادعو", "ar")
    assert "WISH" in tags and "PRAYER" not in tags
    assert "PRAYER" in tags_of("أدعو كل يوم ألا يقتل أحد آخر.", "ادعو", "ar")


@pytest.mark.parametrize("text,word,expected,absent", [
    # "and we are not joking": the conjunction written onto the phrase's first word does not hide the phrase
    ("سنحرق مبناكم ومش عم نمزح", "نمزح", {"INTENT"}, {"LAUGH"}),
    ("سنحرق مبناكم فمش عم نمزح", "نمزح", {"INTENT"}, {"LAUGH"}),
    # a word listed as it is keeps its own reading: "ولا نمزح" is a phrase of its own
    ("سنحرق مبناكم ولا نمزح", "نمزح", {"INTENT"}, {"LAUGH"}),
])
def test_arabic_phrases_after_a_conjunction(text: str, word: str, expected: set[str], absent: set[str]) -> None:
    tags = tags_of(text, word, "ar")
    assert expected <= tags and not absent & tags


def test_the_gate_reads_phrases_after_a_conjunction() -> None:
    # a phrase with everyday readings ("what is coming is greater") behind "and", with someone named: parsed
    an = read("موظفو تويتر في دبي، والقادم اعظم", "ar")
    assert an.gated and any("VEIL" in t.tags for t in an.tokens)


@pytest.mark.parametrize("text", [
    "I'm going to find you and shoot you.",
    "We will hunt you and kill you.",
])
def test_you_after_a_verb_is_its_object(text: str) -> None:
    # "you" right after a verb is whom it is done to, so the act after "and" keeps the subject before ("I ...
    # shoot"), as "them" does
    an = read(text, "en")
    assert all("OBJ" in t.tags for t in an.tokens if t.norm == "you")


def test_you_at_the_head_of_a_clause_stays_the_subject() -> None:
    an = read("You will pay, and you will burn.", "en")
    assert not any("OBJ" in t.tags for t in an.tokens if t.norm == "you")


@pytest.mark.parametrize("word", ["reporter", "reporters", "announcer"])
def test_people_named_by_their_work_say_nothing(word: str) -> None:
    tags = tags_of(f"Those {word} deserve to die.", word, "en")
    assert "HUMAN" in tags and "REPORT" not in tags


def test_asking_god_that_is_a_wish() -> None:
    # as "I pray that ...": what the author asks for is wished, as "اسال الله ان" is
    assert "WISH" in tags_of("I ask God that their office gets torched.", "ask", "en")


def test_a_verb_after_go_and_is_a_command() -> None:
    # "go and" is read as one phrase: the verb it joins is an imperative as after "go to ... and"
    assert "IMP" in tags_of("Brothers, go and set fire to their office.", "set", "en")


def test_no_tense_before_a_pronoun() -> None:
    # "حالكم" (yourselves) is no Egyptian future "ح" + "ا" (I) + "لكم" (to you)
    tags = tags_of("جهزوا حالكم للعشاء", "حالكم", "ar")
    assert not tags & {"FUT", "P1"}


@pytest.mark.parametrize("text,word,lang", [
    ("سنذبح العلمانيين واحدا واحدا", "العلمانيين", "ar"),  # secularists
    ("النسويات يستحقن الموت", "النسويات", "ar"),            # feminists
    ("أحرقوا كنائس الأقباط", "الاقباط", "ar"),              # Copts
    ("We will slaughter the secularists.", "secularists", "en"),
])
def test_groups_by_belief_are_people(text: str, word: str, lang: str) -> None:
    assert "HUMAN" in tags_of(text, word, lang)


def test_german_possessives_and_demonstratives_vote_german() -> None:
    # a short post with no language: "euer" and "diesen" are German function words ("in" is left to English)
    an = read("Euer Büro in Berlin 💣💥 diesen Freitag.", None)
    assert an.lang == "de"


@pytest.mark.parametrize("text,phrase,lang", [
    ("When wrapping your van, be careful with the sliding doors.", "your van", "en"),
    ("Your truck is blocking the driveway again.", "your truck", "en"),
    ("Wasch dein Auto am Samstag.", "dein auto", "de"),
])
def test_the_addressee_s_own_vehicle_is_a_place_near_them_not_a_weapon(text: str, phrase: str, lang: str) -> None:
    # "your van" is where the addressee is, as "your car" is ("check under your car"); a vehicle someone drives
    # into a crowd stays a weapon
    tags = tags_of(text, phrase, lang)
    assert "LOC" in tags and "WEAPON" not in tags
    assert "WEAPON" in tags_of("I will drive my truck into your office.", "truck", "en")


@pytest.mark.parametrize("text,word", [
    ("سأجدك وأعدمك.", "واعدمك"),  # and I execute you: after the conjunction
    ("أعدمك بيدي.", "اعدمك"),
])
def test_a_listed_form_with_alef_and_the_object_you_is_the_first_person(text: str, word: str) -> None:
    # an imperative takes no "you" for its object: "أعدمك" is "I execute you", as "أذبحك" is
    assert {"KILL", "P1", "P2", "O2"} <= tags_of(text, word, "ar")


def test_i_will_find_you_is_the_first_person_future() -> None:
    assert {"MOVE", "FUT", "P1", "P2"} <= tags_of("سأجدك وأعدمك.", "ساجدك", "ar")


def test_an_arabic_post_is_no_game_boss() -> None:
    # "بوس" is a kiss (and the stem Snowball leaves of "بوست", a post), never a game's boss
    assert "GAME" not in tags_of("امسحوا بوست كمان", "بوست", "ar")


def test_a_phrase_in_the_past_opens_no_command() -> None:
    # "Blew up ..." at the head of a post tells what happened; "Blow up ..." commands
    assert "IMP" not in tags_of("Blew up their base in the last minute, GG", "blew up", "en")
    assert "IMP" in tags_of("Blow up their base tonight.", "blow up", "en")


@pytest.mark.parametrize("word", ["gg", "ggwp", "noobs"])
def test_gamers_words_name_a_game(word: str) -> None:
    assert "GAME" in tags_of(f"We destroyed them, {word}", word, "en")


@pytest.mark.parametrize("text,word", [
    ("Ich bete jeden Tag, dass sie alle sterben.", "bete"),
    ("Wir beten, dass ihr Büro brennt.", "beten"),
])
def test_german_praying_that_something_happen_is_a_wish(text: str, word: str) -> None:
    tags = tags_of(text, word, "de")
    assert "WISH" in tags and "PRAYER" not in tags
    assert "PRAYER" in tags_of("Wir beten für die Opfer.", "beten", "de")


def test_posts_are_no_saying() -> None:
    assert "REPORT" not in tags_of("If you don't stop removing our posts, your staff will pay.", "posts", "en")
    assert "REPORT" in tags_of("He posted that they would pay.", "posted", "en")


def test_an_arabic_death_foretold_names_its_addressee() -> None:
    # "مش هتلحقوا" (you won't get to ...): the second person and the future of a verb the parse cannot read
    assert {"DEATH", "P2", "FUT"} <= tags_of("مش هتلحقوا تشوفوا رمضان.", "مش هتلحقوا", "ar")


@pytest.mark.parametrize("text,phrase", [
    ("لنا إخوة في دبلن يعرفون وجوهكم.", "يعرفون وجوهكم"),   # who know your faces
    ("إخوتنا يعرفون أي قطار يستقله موظفوكم.", "يعرفون اي قطار"),  # know which train
])
def test_arabic_knowing_faces_and_trains_is_veiled(text: str, phrase: str) -> None:
    assert "VEIL" in tags_of(text, phrase, "ar")  # as "know your faces", "eure Gesichter kennen"


def test_the_german_injured_are_people_not_an_act() -> None:
    tags = tags_of("Ich bete, dass die Verletzten schnell gesund werden.", "die verletzten", "de")
    assert "HUMAN" in tags and not tags & HARM_TAGS


def test_we_will_pursue_you_is_the_first_person_future() -> None:
    assert {"MOVE", "FUT", "P1", "P2"} <= tags_of("سنلاحقكم واحدا واحدا حتى نذبحكم.", "سنلاحقكم", "ar")


def test_a_verb_after_a_country_s_name_is_she_not_you() -> None:
    # names of countries are feminine and take no article: their verb's "ت" is "she"
    tags = tags_of("أوباما أو أمريكا تدمر العرب", "تدمر", "ar")
    assert "P2" not in tags and "P3" in tags


def test_no_before_a_noun_of_violence_negates_the_act() -> None:
    assert "NEG" in tags_of("Seriously, no assault should take place until all civilians are out.", "assault", "en")
    assert "NEG" not in tags_of("No wall will protect them from our attack.", "attack", "en")


@pytest.mark.parametrize("text,phrase", [
    ("يجب إنهاء العنف المتزايد ضد المدنيين", "انهاء العنف"),  # ending violence
    ("بصدور أحكام بالإعدام على أكثر من 1000 شخص", "احكام بالاعدام"),  # courts' death sentences
])
def test_arabic_ending_violence_and_death_sentences_are_topics(text: str, phrase: str) -> None:
    tags = tags_of(text, phrase, "ar")
    assert "TOPIC" in tags and not tags & HARM_TAGS


@pytest.mark.parametrize("text,phrase", [
    ("You break my heart every day, you know.", "break my heart"),  # no "break ... you" for the idiom's verb
    ("He is gonna eat himself to death.", "himself to death"),
])
def test_one_s_own_broken_heart_and_reflexive_deaths_are_idioms(text: str, phrase: str) -> None:
    tags = tags_of(text, phrase, "en")
    assert "IDIOM" in tags and not tags & HARM_TAGS


def test_an_arabic_hashtag_that_opens_with_a_call_to_violence_is_the_author_s_call() -> None:
    tags = tags_of("انشروا الوسم: #أعدموا_الوزير", "اعدموا", "ar")
    assert {"IMP", "KILL"} <= tags and "HASHTAG" not in tags
    assert "HASHTAG" in tags_of("شاركوا: #انشروا_الحقيقة", "انشروا", "ar")  # spread the truth: a tag


@pytest.mark.parametrize("text,word,tag", [
    ("@jm_harlow Kill them all.", "kill", "IMP"),
    ("@a @b Go to their office and burn it down.", "go", "IMP"),
    ("@a May they all burn.", "may", "WISH"),
])
def test_a_reply_s_handles_leave_the_verb_at_the_head_of_its_clause(text: str, word: str, tag: str) -> None:
    assert tag in tags_of(text, word, "en")


def test_a_noun_before_a_past_tense_is_its_subject_not_a_command() -> None:
    assert "IMP" not in tags_of("Battle delivered 20 dead bodies to their homes.", "battle", "en")
    assert "IMP" in tags_of("Kill armed men on sight.", "kill", "en")  # an adjective in -ed after a command


@pytest.mark.parametrize("text,phrase", [
    ("Tickets. Food. Gas. Edit: parking maybe, depending on where you live", "depending on where you live"),
    ("Don't know where you live but in Italy you are stopped by police", "don't know where you live"),
])
def test_where_you_live_as_advice_or_unknown_is_no_veiled_threat(text: str, phrase: str) -> None:
    assert "VEIL" not in tags_of(text, phrase, "en")
    assert "VEIL" in tags_of("We know where you live.", "we know where", "en")


def test_making_someone_bleed_is_an_act_and_bleeding_ears_an_idiom() -> None:
    # the causative carries the act ("make the moderators ... bleed": a command to hurt them), as "make ... suffer"
    assert {"HURT", "IMP"} <= tags_of("Brothers: make the moderators who banned us bleed.", "make", "en")
    assert "IDIOM" in tags_of("This song makes my ears bleed.", "my ears bleed", "en")
