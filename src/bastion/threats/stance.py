"""What a post *does* with words of violence: issue a threat, or report, quote, condemn, negate, joke, narrate
or pray over the same words. And, when it issues one, in what form.

Why a speech act and not keywords: "we will kill them" is a threat from its author, news when a reporter quotes
it, counter-speech when someone condemns it, and nothing when a gamer says it about the other team. The words
are the same; what differs is who is the agent (first person, a call on others, a third party in a report), the
modality (future, intent, obligation, wish, condition, negation, past), the target (people, a protected place,
a sheep, a process) and the frame around them (a quotation with its attribution, a court report, an idiom).

The analyser (:mod:`bastion.threats.analysis`) reduces a post to a sequence of such tags; this module turns the
sequence into features - the tags themselves, their order within a clause (unigrams, adjacent pairs and
triples, pairs a few words apart), all marked when they stand inside a quotation, and a few facts about the
post's quotations - and scores them with two linear heads, each a multinomial logistic regression:

* **stance** over :data:`STANCES`; ``issue`` is the probability that the post issues a threat (the
  ``threat`` signal), the others are what it does instead;
* **form** over :data:`FORMS` (direct, second person, conditional, veiled, incitement, normative, death wish),
  which severity reads.

Linear heads keep every decision explainable (each feature's contribution is a number an analyst can read) and
fast: a batch of posts is one sparse matrix product. The weights ship as JSON (``threats/data/stance-model.json``,
no pickle), with the model card beside them; ``bastion train threat`` fits new ones.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.errors import InputError
from bastion.threats.analysis import Analysis, Token
from bastion.threats.lexicon import HARM_TAGS, PERSON_TAGS

FORMAT = "bastion-threat-stance/1"
STANCES = ("issue", "report", "quote", "condemn", "negate", "joke", "narrate", "pray", "none")
FORMS = ("direct", "second_person", "conditional", "veiled", "incitement", "normative", "death_wish")
#: Functionality of the functional suites -> stance (threat_* -> issue).
STANCE_OF_FUNCTIONALITY: Mapping[str, str] = {
    "report_news": "report", "quote_attributed": "quote", "counter_speech": "condemn", "negated": "negate",
    "idiom_hyperbole": "joke", "nonhuman_or_fiction": "narrate", "religious_or_prayer": "pray",
}
FORM_OF_FUNCTIONALITY: Mapping[str, str] = {
    "threat_direct": "direct", "threat_second_person": "second_person", "threat_conditional": "conditional",
    "threat_veiled": "veiled", "threat_incitement": "incitement", "threat_normative": "normative",
    "threat_death_wish": "death_wish",
}
#: Tags that can mark a stance, shown as evidence spans.
CUE_TAGS = frozenset({"REPORT", "NEWS", "THREATN", "CONDEMN", "ENDORSE", "NEG", "IDIOM", "LAUGH", "GAME",
                      "FICTION", "NONHUMAN", "PRAYER", "PAST", "COND", "WISH", "DEONT", "VOC", "BOUNTY", "VEIL",
                      "IMP", "FUT", "INTENT"})
_MAX_TAGS = 4


#: Tags the stance features leave out: a time ("tonight", "soon") says how soon, not who speaks or to whom. In
#: the functional suite it marks games and matches about as often as threats, and a model that learns it learns
#: the suite; severity weighs the time anyway.
_QUIET = frozenset({"NEAR", "SOON"})


_LABELS: dict[tuple[frozenset[str], str], tuple[str, ...]] = {}


def _labels(tok: Token, scope: str) -> tuple[str, ...]:
    if tok.punct:
        return (tok.punct,)
    key = (tok.tags, scope)
    labels = _LABELS.get(key)
    if labels is None:  # few distinct tag sets recur: compute each once
        tags = sorted(tok.tags - _QUIET)[:_MAX_TAGS]
        labels = tuple(scope + t for t in tags) if scope else tuple(tags)
        if len(_LABELS) < 1 << 16:
            _LABELS[key] = labels
    return labels


def scopes(an: Analysis) -> list[str]:
    """Per token, the voice it stands in: ``q`` inside a quotation, ``r`` in the scope of a verb of saying, a
    threat-noun or a condemnation earlier in its sentence ("police said he threatened to ..."), ``n`` within
    a few words after a negation in its clause. A first-person subject after a clause break ends a report's
    scope ("he said it, and we will do it"); the comma that closes a condition ends the scope of a negation
    inside it ("if you do not unblock us, we will ...": the harm is not negated)."""
    out: list[str] = []
    reported = False
    neg_left = 0
    sentence = -1
    after_break = False
    condition = negated_condition = False  # in a condition since its conditional word; negated inside it
    for tok in an.tokens:
        if tok.sentence != sentence:
            sentence, reported, neg_left, after_break = tok.sentence, False, 0, False
            condition = negated_condition = False
        if tok.punct:
            if tok.punct in _HARD or (tok.punct == "<,>" and negated_condition):
                neg_left = 0
            if tok.punct in _HARD or tok.punct == "<,>":
                condition = negated_condition = False
            after_break = tok.punct in ("<,>", "<:>") or after_break
            out.append("")
            continue
        if "COND" in tok.tags:
            condition = True
        if reported and after_break and "P1" in tok.tags and "POSS" not in tok.tags:
            reported = False
        scope = ("q" if tok.quoted else "") + ("r" if reported else "") + ("n" if neg_left > 0 else "")
        out.append(scope)
        if tok.tags & _SAYING and "IMP" not in tok.tags:  # "spread the hashtag!" commands, it reports nothing
            reported, after_break = True, False
        if "STOP" in tok.tags:
            neg_left = 0
        elif tok.tags & {"NEG", "NOONE"}:
            neg_left = 8
            negated_condition = condition
        elif neg_left:
            neg_left -= 1
    return out


def _conditional_clauses(an: Analysis) -> list[bool]:
    """Per token, whether it stands in a condition: after a conditional word ("if", "falls", "إذا") in a clause
    that a comma closes ("if you do not stop, ..."). Its negation negates the condition, not what follows."""
    out: list[bool] = [False] * len(an.tokens)
    start, seen = 0, False
    for k, tok in enumerate(an.tokens):
        if tok.punct in _HARD or tok.punct == "<,>":
            if seen and tok.punct == "<,>":
                out[start:k] = [True] * (k - start)
            start, seen = k + 1, False
        elif "COND" in tok.tags and not seen:
            start, seen = k, True
    return out


# --- event frames: who does what to whom, how, in whose voice ----------------------------------------------------
_EVENT = ("KILL", "DESTROY", "HURT", "DEATH", "WEAPON", "VEIL")
_AGENT = ("P1", "P2", "NOONE", "GEN", "VOC", "P3")
_MOOD = ("NEG", "FUT", "INTENT", "DEONT", "WISH", "COND", "IMP", "PAST", "MODAL", "PASS", "ED", "ING", "PART", "INF",
         "PRES")
_TARGET = ("P2", "HUMAN", "PLACE", "P3", "NONHUMAN", "BODY", "IT", "P1")
_CONTEXT = ("REPORT", "NEWS", "THREATN", "CONDEMN", "ENDORSE", "IDIOM", "GAME", "FICTION", "PRAYER", "LAUGH",
            "BOUNTY", "VOC", "COND")
_HARD = frozenset({"<.>", "<?>", "<!>", "<:>"})
_EVENT_SET = frozenset(_EVENT)
_AGENT_SET = frozenset(_AGENT)
_MOOD_SET = frozenset(_MOOD)
_NEG = frozenset({"NEG"})
_CONTEXT_SET = frozenset(_CONTEXT)
_FRAMING = frozenset({"REPORT", "NEWS", "THREATN", "CONDEMN", "IDIOM", "GAME", "FICTION", "PRAYER", "LAUGH"})
_TRAILING = frozenset({"<.>", "<!>", "<,>", "<:>"})
_NOUNISH = frozenset({"HUMAN", "PLACE", "NONHUMAN", "FAMILY", "LOC", "POSS", "BODY", "OBJ"})
_SAYING = frozenset({"REPORT", "THREATN", "CONDEMN"})
_BACK, _AHEAD = 10, 6
#: German puts the verb at the end of its clause, after a middle field of objects, places and times: a verb there
#: looks further back for its subject and mood ("Hoffentlich werden die Leute im Büro in München noch dieses Jahr
#: erschossen")
_BACK_DE = 16
_EXPLAINED = frozenset({"DEONT", "WISH"})
_OBJECT_MARKS = ("O1", "O2", "O3")
_HEAD_NOUNS = frozenset({"HUMAN", "PLACE", "NONHUMAN"})
_OBJECT_PERSON = {"O1": "P1", "O2": "P2", "O3": "P3"}
_PERSONS = ("P2", "HUMAN", "P3", "P1")


#: forms of a verb that are no present tense: past, participles, infinitives, passive
_NOT_FINITE = frozenset({"PAST", "ED", "ING", "PART", "INF", "PASS"})
#: moods that say when or how an act is meant: with none of them, an act is in the plain present
_TENSED = (_MOOD_SET - {"COND", "NEG", "PRES", "ING"})  # "I'm breaking your neck if ...": a progressive too


#: words that open a German subordinate clause, whose finite verb comes last; relative pronouns (which are also
#: articles) only after a comma
_DE_SUBORDINATORS = frozenset({"wer", "dass", "weil", "wenn", "ob", "falls", "als", "nachdem", "was", "welche",
                               "welcher", "welches"})
_DE_RELATIVES = frozenset({"der", "die", "das", "den", "dem", "deren", "dessen"})


#: the forms of a participle: a lethal act in the future passive is its target's death ("staff will be executed")
_PASSIVE_FORMS = frozenset({"ED", "PART", "PASS"})


def _says(tok: Token) -> bool:
    """A verb of saying, a threat-noun or a condemnation - not a command to say ("tell your ...")."""
    return bool(tok.tags & _SAYING) and "IMP" not in tok.tags


def _subordinate(toks: Sequence[Token], i: int) -> bool:
    """Whether token ``i`` stands in a German subordinate clause."""
    j = i - 1
    while j >= 0 and not toks[j].punct:
        j -= 1
    if j + 1 >= i:
        return False
    first = toks[j + 1].norm
    return first in _DE_SUBORDINATORS or (j >= 0 and toks[j].punct == "<,>" and first in _DE_RELATIVES)


def _first(tags: frozenset[str], order: Sequence[str]) -> str | None:
    return next((t for t in order if t in tags), None)


#: words before a time that put it in the past ("since this morning", "seit heute Morgen", "منذ الصباح")
_SINCE = frozenset({"since", "seit", "منذ"})


def _frames(an: Analysis, f: dict[str, float]) -> None:
    """For each word of violence (or veiled-threat phrase): its agent, mood and target within the clause, and
    what frames the sentence, as conjunctions the linear heads can weigh."""
    toks = an.tokens
    conditional: list[bool] | None = None  # computed when a frame first looks back across a comma
    by_sentence: dict[int, list[tuple[int, frozenset[str]]]] = {}  # the framing tags of each sentence
    timed: set[int] = set()  # sentences that name a near time ("tonight", "morgen", "قريبا")
    for i, t in enumerate(toks):
        if t.tags & _CONTEXT_SET:
            by_sentence.setdefault(t.sentence, []).append((i, t.tags & _CONTEXT_SET))
        if t.tags & _QUIET and not (i and toks[i - 1].norm in _SINCE):  # "since this morning" is past
            timed.add(t.sentence)
    for i, ev in enumerate(toks):
        if ev.punct or not ev.tags & _EVENT_SET:
            continue
        # a veiled-threat phrase is a veiled threat, whatever word of violence it holds ("bring the war to",
        # "legitimate targets", "حرب حقيقية عليكم"): read as the word's plain act, it would be news of a war
        kind = "VEIL" if "VEIL" in ev.tags else _first(ev.tags, _EVENT) or ""
        q = "q" if ev.quoted else ""
        suffixed = _first(ev.tags, _OBJECT_MARKS)  # an Arabic object suffix names whom the act harms
        obj = _OBJECT_PERSON[suffixed] if suffixed else None
        agent = _first(ev.tags - {obj} if obj else ev.tags, _AGENT)
        moods = set(ev.tags & _MOOD_SET)
        back_target = None
        reported = False
        agent_at = i
        stopped = False
        crossed = False  # a comma between this word and the one looked at
        explained = False  # a colon between: "only one punishment for them: death"
        consequence = False  # a condition in an earlier clause of the sentence: this act is its consequence
        subjects = 0  # subject pronouns walked back over: a second one means a clause of its own before this one's
        be_before = False  # a form of be/werden before it in the clause: a passive ("will be killed")
        # a participle right after a noun says what was done to it: "the aid workers killed last week" (no agent
        # of its own; the moods before it stay: "nothing would make me happier than seeing them executed")
        # ... and so does one after "being" ("kids being murdered in their schools": a passive in progress)
        head = i - 2 if i > 1 and toks[i - 1].norm == "being" else i - 1
        relative = an.lang == "en" and "ED" in ev.tags and head >= 0 and bool(toks[head].tags & _HEAD_NOUNS) \
            and not toks[head].punct
        if relative:
            obj = _first(toks[head].tags, _TARGET)
            moods.add("PASS")
        final = an.lang == "de" and (i + 1 == len(toks) or bool(toks[i + 1].punct))
        for j in range(i - 1, max(-1, i - 1 - (_BACK_DE if final else _BACK)), -1):
            t = toks[j]
            if t.punct == "<:>" and not explained and j + 2 >= i:
                explained = True  # the act right after a colon takes the obligation or wish before it, nothing else
                continue
            if t.punct in _HARD or t.punct == "<Q>":
                break
            if t.punct == "<,>":
                crossed = True
            if explained:
                moods |= t.tags & _EXPLAINED
                continue
            if not crossed and "BE" in t.tags:
                be_before = True
            if "STOP" in t.tags:  # "nothing will stop us from ...": the negation is the stopping's
                stopped = True
                moods.add("INTENT")
                if agent is None:  # ... and the one not stopped is who acts: the pronoun right after it, or the
                    for k in (j + 1, j - 1, j - 2, j - 3):  # object before it ("nichts wird mich davon abhalten")
                        if 0 <= k < i and k != j and not toks[k].punct and (k == j + 1 or "OBJ" in toks[k].tags):
                            agent = _first(toks[k].tags, ("P1", "P2", "P3"))
                            if agent:
                                agent_at = k
                                break
            nounish = not t.tags.isdisjoint(_NOUNISH)
            # a German quantifier before its noun in the middle field is the object's ("Ich werde dir jeden
            # Knochen brechen"), not the subject of the verb at the clause's end
            determiner = an.lang == "de" and "GEN" in t.tags and " " not in t.norm and j + 1 < i \
                and not toks[j + 1].punct and not toks[j + 1].tags.isdisjoint(_NOUNISH)  # (a word, not a phrase:
            # "50.000 Euro für den, der ..." is whoever does it)
            if agent is None and not relative and not nounish and not determiner \
                    and not t.tags.isdisjoint(_AGENT_SET):
                agent = _first(t.tags, _AGENT)
                agent_at = j  # where the subject stands: a frame of saying before it reports the act
            if nounish and (back_target is None or back_target == "BODY"):
                # a person before the body part is whose it is ("dir den Schädel einschlagen"): the one harmed
                back_target = _first(t.tags, _TARGET) if back_target is None else \
                    _first(t.tags, _PERSONS) or back_target
            mt = t.tags & _MOOD_SET
            if "COND" in mt and (crossed or subjects > 1):  # "if you come here, I ...", "next time I see him I ..."
                consequence = True
            if not nounish and not t.tags.isdisjoint(PERSON_TAGS):
                subjects += 1
            if crossed and "NEG" in mt:  # "if you do not stop, we will ...": the condition's negation
                if conditional is None:
                    conditional = _conditional_clauses(an)
                if conditional[j]:
                    mt = mt - _NEG
            if mt:
                moods |= mt - _NEG if stopped else mt
        if stopped and agent == "NOONE":
            agent = None
        if kind == "DEATH" and "LIVE" in ev.tags:
            if "NEG" not in moods and agent != "NOONE":
                continue  # "... that the hostages come home alive": living through it is no death
            moods.discard("NEG")  # "nobody will go home alive": not living through it is the death
            agent = None if agent == "NOONE" else agent
        if consequence and moods.isdisjoint(_TENSED):  # a condition's consequence in the present is a future:
            moods.add("FUT")  # "if I see any of them tonight, they're dead", "wenn ich sie sehe, sind sie tot"
        if not moods and ev.sentence in timed and (agent is not None or an.lang == "de"):
            # a present tense with a near time is a future one ("Morgen erschießen wir ...", "tonight we burn ...")
            # - when someone acts in it: a noun of violence with a time names an event of that time, as news
            # does ("Palmyra battle ended this morning"); German finds the subject after the verb further on
            moods.add("FUT")
        target_from = i + 1
        if an.lang == "de" and (agent is None or agent_at < i) and ev.tags.isdisjoint(_AGENT_SET):
            # verb second: "Heute Nacht hängen wir ...", "Für jeden gelöschten Account töten wir einen ...": a
            # subject pronoun right after the verb is who acts, whatever the fronted words before it were
            after = toks[i + 1] if i + 1 < len(toks) and not toks[i + 1].punct else None
            if after is not None and not after.tags & _NOUNISH:
                subject = _first(after.tags, ("P1", "P3"))
                if subject is not None:
                    agent, agent_at = subject, i
                    target_from = i + 2  # the subject after the verb is not its object
        if an.lang == "de" and agent == "P1" and not moods and ev.tags.isdisjoint(_NOT_FINITE):
            moods.add("FUT")  # German speaks of its own future in the present: "Ich finde dich und bringe dich um"
        # in the scope of a verb of saying, a threat-noun or a condemnation earlier in the sentence - unless the
        # act has a first-person subject of its own after a clause break ("he said it, and we will do it")
        for j in range(agent_at - 1, -1, -1):
            t = toks[j]
            if t.sentence != ev.sentence or t.punct == "<Q>":
                break
            if _says(t):
                if conditional is None:
                    conditional = _conditional_clauses(an)
                if conditional[j] and not conditional[i]:  # said in the condition, not of the act after it:
                    continue  # "wenn sie weiter über uns hetzt, steche ich sie ab", "if you keep reporting us, ..."
                reported = True
                break
        if not reported and an.lang == "de" and _subordinate(toks, i):
            # a German subordinate clause ends in its verb: "Wer Journalisten mit dem Tod droht, ..." threatens,
            # "..., die mit Mord drohten" reports - the verb after the act governs it
            for j in range(i + 1, len(toks)):
                t = toks[j]
                if t.punct:
                    break
                if _says(t):
                    reported = True
                    break
        target = obj
        for j in range(target_from if obj is None else len(toks), min(len(toks), i + 1 + _AHEAD)):
            t = toks[j]
            if t.punct in _HARD or t.punct in ("<Q>", "<,>"):  # the next clause's words are not this act's object
                break
            target = _first(t.tags, _TARGET)
            if target:
                if an.lang == "en" and t.tags & _HEAD_NOUNS:  # a compound's last noun is its head: "the team
                    # photos" are photos (a possessive stays the target: "your staff" are the reader's)
                    while j + 1 < len(toks) and not toks[j + 1].punct and toks[j + 1].tags & _HEAD_NOUNS:
                        j += 1
                        target = _first(toks[j].tags, _TARGET)
                break
        if target is None:
            target = _first(ev.tags - {agent} if agent else ev.tags, _TARGET) or back_target
        if kind == "KILL" and "FUT" in moods and not relative and not moods.isdisjoint(_PASSIVE_FORMS) \
                and (be_before or "PASS" in ev.tags):  # a passive: after be/werden, or an Arabic passive stem
            # "Twitter staff will be executed" says what "Twitter staff will die" says, and the subject stands where
            # a dying one's does ("they will be killed": they will die). An agent after it ("by our hands") is not
            # read either way; news of a death sentence reads as news does ("... the court said").
            kind = "DEATH"
            moods -= _PASSIVE_FORMS
        context = frozenset().union(*(c for j, c in by_sentence.get(ev.sentence, ()) if j != i))
        negated = "NEG" in moods or agent == "NOONE"
        # a negated, quoted or reported act is another act: its features are its own
        e = f"e{q}{'r' if reported else ''}{'n' if negated else ''}:"
        key = (e, kind, agent or "-", target or "-", frozenset(moods), context)
        names = _FRAME_NAMES.get(key)
        if names is None:  # few distinct frames recur: name each once
            names = _frame_names(*key)
            if len(_FRAME_NAMES) < 1 << 16:
                _FRAME_NAMES[key] = names
        f.update(names)


_FRAME_NAMES: dict[tuple[str, str, str, str, frozenset[str], frozenset[str]], dict[str, float]] = {}


def _frame_names(e: str, kind: str, ag: str, tg: str, moods: frozenset[str],
                 context: frozenset[str]) -> dict[str, float]:
    """The features of one event frame: its parts and their conjunctions."""
    f: dict[str, float] = {}
    f[e + "k:" + kind] = 1.0
    f[e + "ag:" + ag] = 1.0
    f[e + "tg:" + tg] = 1.0
    f[e + f"ag+tg:{ag}+{tg}"] = 1.0
    for m in moods or {"-"}:
        f[e + "m:" + m] = 1.0
        f[e + f"ag+m:{ag}+{m}"] = 1.0
        f[e + f"m+tg:{m}+{tg}"] = 1.0
        f[e + f"ag+m+tg:{ag}+{m}+{tg}"] = 1.0
        f[e + f"k+m:{kind}+{m}"] = 1.0
    for c in context:
        f[e + "ctx:" + c] = 1.0
        f[e + f"ag+ctx:{ag}+{c}"] = 1.0
    if not context & _FRAMING:  # the act in plain words: no game, joke, report or prayer around it
        f[e + "plain"] = 1.0
        for m in moods or {"-"}:
            f[e + f"plain:{ag}+{m}+{tg}"] = 1.0
    return f


_SEQ_NAMES: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, float]] = {}


def _seq_names(prev: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, float]:
    """Unigram features of a token's labels and bigram features with the previous token's."""
    f: dict[str, float] = {}
    for a in labels:
        if a[0] != "<":
            f["u:" + a] = 1.0
        for p in prev:
            f["b:" + p + ">" + a] = 1.0
    return f


def features(an: Analysis) -> dict[str, float]:
    """Binary features of one analysed post (names are stable strings; the model maps them to weights)."""
    seq: list[tuple[str, ...]] = []
    for tok, scope in zip(an.tokens, scopes(an), strict=True):
        labels = _labels(tok, scope)
        if labels:
            seq.append(labels)
    while seq and seq[-1][0] in _TRAILING:  # whether a post ends with a full stop says nothing
        seq.pop()
    f: dict[str, float] = {}
    prev: tuple[str, ...] = ()
    cache = _SEQ_NAMES
    for labels in seq:
        names = cache.get((prev, labels))
        if names is None:  # the same neighbours recur across posts: name each pair once
            names = _seq_names(prev, labels)
            if len(cache) < 1 << 17:
                cache[(prev, labels)] = names
        f.update(names)
        prev = labels
    if an.quotes:
        harm_in = any(t.quoted and t.tags & HARM_TAGS for t in an.tokens)
        harm_out = any(not t.quoted and t.tags & HARM_TAGS for t in an.tokens)
        f["p:quote"] = 1.0
        f["p:quote_harm" if harm_in else "p:quote_no_harm"] = 1.0
        f["p:out_harm" if harm_out else "p:out_no_harm"] = 1.0
    _frames(an, f)
    if an.quotes:
        # the author's own words after a quotation: agreement, or a threat of their own
        last_quote_end = an.quotes[-1][1]
        after = [t for t in an.tokens if not t.quoted and t.start >= last_quote_end]
        if any("ENDORSE" in t.tags for t in after):
            f["p:endorse_after_quote"] = 1.0
        if any(t.tags & {"P1"} and not t.tags & {"POSS"} for t in after) and any(
                t.tags & {"FUT", "INTENT", "IMP"} for t in after):
            f["p:own_commitment_after_quote"] = 1.0
    return f


@dataclass(frozen=True, slots=True)
class StanceResult:
    """The heads' output for one post."""

    stance: str
    probabilities: Mapping[str, float]  # stance -> probability
    form: str | None
    form_probabilities: Mapping[str, float]
    contributions: Mapping[str, float]  # top features of the issue logit against the runner-up

    @property
    def threat(self) -> float:
        return self.probabilities.get("issue", 0.0)

    @property
    def issue_given_violence(self) -> float:
        """How likely the author issues the threat, given the post is about violence at all."""
        rest = 1.0 - self.probabilities.get("none", 0.0)
        return self.threat / rest if rest > 1e-9 else 0.0


class StanceModel:
    """The two linear heads. ``weights``: feature -> row index; ``W`` (features x stances), ``b`` (stances);
    ``F``/``c`` the same for forms."""

    def __init__(self, vocab: Mapping[str, int], W: NDArray[np.float64], b: NDArray[np.float64],
                 F: NDArray[np.float64], c: NDArray[np.float64], meta: Mapping[str, Any] | None = None,
                 stances: Sequence[str] = STANCES, forms: Sequence[str] = FORMS) -> None:
        self.vocab = dict(vocab)
        self.W, self.b, self.F, self.c = W, b, F, c
        self.stances = tuple(stances)
        self.forms = tuple(forms)
        self.meta = dict(meta or {})
        self._names = {i: n for n, i in self.vocab.items()}
        self.version = str(self.meta.get("version", "unversioned"))

    # -- scoring -----------------------------------------------------------------------------------------------
    def predict(self, feats: Sequence[Mapping[str, float]], explain: bool = True,
                explain_above: float = 0.2) -> list[StanceResult]:
        """Score a batch in one sparse matrix product. ``explain``: each post whose threat probability reaches
        ``explain_above`` gets the features that pushed it most (the rest are not worth the work)."""
        from scipy.sparse import csr_matrix

        if not feats:
            return []
        v = self.vocab
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for f in feats:
            for name, value in f.items():
                i = v.get(name)
                if i is not None:
                    indices.append(i)
                    data.append(value)
            indptr.append(len(indices))
        X = csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
                       shape=(len(feats), len(v)))
        P = _softmax_rows(X @ self.W + self.b)
        PF = _softmax_rows(X @ self.F + self.c)
        issue = self.stances.index("issue")
        out: list[StanceResult] = []
        # whole-batch conversions: per-row NumPy calls cost more than the rows' arithmetic
        best, best_form = P.argmax(axis=1).tolist(), PF.argmax(axis=1).tolist()
        for r, (p, pf) in enumerate(zip(P.tolist(), PF.tolist(), strict=True)):
            contrib: dict[str, float] = {}
            if explain and p[issue] >= explain_above and indptr[r + 1] > indptr[r]:
                rows = indices[indptr[r]: indptr[r + 1]]
                contrib = self._explain(rows, np.asarray(data[indptr[r]: indptr[r + 1]]), P[r])
            out.append(StanceResult(self.stances[best[r]], dict(zip(self.stances, p, strict=True)),
                                    self.forms[best_form[r]], dict(zip(self.forms, pf, strict=True)), contrib))
        return out

    def _explain(self, rows: list[int], vals: NDArray[np.float64], p: NDArray[np.float64]) -> dict[str, float]:
        """Each feature's push on the issue logit against the strongest other stance (top eight by size)."""
        issue = self.stances.index("issue")
        order = np.argsort(-p)
        rival = int(order[0] if order[0] != issue else order[1])
        delta = vals * (self.W[rows, issue] - self.W[rows, rival])
        top = np.argsort(-np.abs(delta))[:8]
        return {self._names[rows[i]]: round(float(delta[i]), 3) for i in top if abs(delta[i]) >= 0.05}

    # -- persistence ---------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        names = sorted(self.vocab, key=self.vocab.__getitem__)
        return {"format": FORMAT, "stances": list(self.stances), "forms": list(self.forms), "meta": self.meta,
                "bias": [round(float(x), 5) for x in self.b], "form_bias": [round(float(x), 5) for x in self.c],
                "features": {n: [round(float(x), 4) for x in self.W[self.vocab[n]]] for n in names},
                "form_features": {n: [round(float(x), 4) for x in self.F[self.vocab[n]]] for n in names
                                  if np.any(self.F[self.vocab[n]] != 0)}}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "model") -> StanceModel:
        if data.get("format") != FORMAT:
            raise InputError(f"{source}: not a threat stance model (format {data.get('format')!r}, "
                             f"expected {FORMAT!r}); retrain it with `bastion train threat`")
        stances, forms = tuple(data["stances"]), tuple(data["forms"])
        feats: Mapping[str, Sequence[float]] = data["features"]
        vocab = {n: i for i, n in enumerate(feats)}
        W = np.asarray([feats[n] for n in vocab], dtype=np.float64).reshape(len(vocab), len(stances))
        F = np.zeros((len(vocab), len(forms)))
        for n, row in data.get("form_features", {}).items():
            if n in vocab:
                F[vocab[n]] = row
        return cls(vocab, W, np.asarray(data["bias"], dtype=np.float64), F,
                   np.asarray(data["form_bias"], dtype=np.float64), data.get("meta"), stances, forms)

    @classmethod
    def load(cls, path: Path | str) -> StanceModel:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"threat model {p} does not exist")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"threat model {p}: {exc}") from exc
        return cls.from_json(data, str(p))

    @classmethod
    def default(cls) -> StanceModel:
        ref = resources.files("bastion.threats") / "data" / "stance-model.json"
        return cls.from_json(json.loads(ref.read_text(encoding="utf-8")), "the shipped threat model")


def _softmax_rows(z: Any) -> NDArray[np.float64]:
    arr = np.asarray(z, dtype=np.float64)
    e = np.exp(arr - arr.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


def evidence(an: Analysis, text_offsets: Sequence[int], text: str) -> list[tuple[int, int, str, str]]:
    """Spans (original offsets) that show the stance: the words of violence, the cues around them, and each
    quotation. Returns (start, end, label, text)."""
    def orig(a: int, b: int) -> tuple[int, int]:
        s = text_offsets[a] if a < len(text_offsets) else len(text)
        e = text_offsets[b - 1] + 1 if 0 < b <= len(text_offsets) else len(text)
        while e < len(text) and (unicodedata.combining(text[e]) or text[e] == "\u0640"):
            e += 1  # the diacritics and tatweel folding dropped after the last letter belong to the word
        return s, e

    out: list[tuple[int, int, str, str]] = []
    for tok in an.tokens:
        if tok.punct or tok.start == tok.end:  # empty: an act read again after an elliptical commitment
            continue
        label = next((t for t in ("WEAPON", "KILL", "HURT", "DESTROY", "DEATH") if t in tok.tags), None)
        cue = None if label else next((t for t in sorted(tok.tags & CUE_TAGS)), None)
        if label or cue:
            s, e = orig(tok.start, tok.end)
            kind = f"harm:{label.lower()}" if label else f"cue:{(cue or '').lower()}"
            out.append((s, e, kind, text[s:e]))
    for a, b in an.quotes:
        if b > a:
            s, e = orig(a, b)
            out.append((s, e, "quote", text[s:e]))
    return out
