
"""Who threatens whom, where, when and how: spans for the explanation and the case file.

Why rules: an analyst reads these spans next to the post, so each must point at words that are there. The
extractor combines the protected-assets registry (organisation, leaders, staff, offices), small multilingual
gazetteers of roles, groups, actors, times and methods, and the grammar cues the intent layer found (a
violent verb's object, the addressee). Everything runs on folded text; spans are mapped back to the original.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bastion.signals import Span
from bastion.text.normalize import fold
from bastion.threats.assets import AssetHit, AssetRegistry

ROLES = (r"\b(?:ceo|founder|co-?founder|chairman|president|prime minister|minister|mayor|governor|senator|judge|"
         r"police(?:man|men| officers?)?|cops?|officers?|soldiers?|journalists?|reporters?|editors?|teachers?|"
         r"politicians?|employees?|staff|managers?|management|moderators?|bürgermeister\w*|kanzler\w*|polizist\w*|"
         r"politiker\w*|journalist\w*|richter\w*|mitarbeiter\w*)\b|(?:^|\s)(?:مدير|رئيس|وزير|الشرطه|شرطي|صحفي\w*|"
         r"مؤسس|موظف\w*|الحكومه|الجيش|جنود)")
GROUPS = (r"\b(?:muslims?|jews?|christians?|arabs?|immigrants?|refugees?|migrants?|protesters?|gays?|queers?|"
          r"women|feminists?|liberals?|leftists?|nazis?|whites?|blacks?|infidels?|crusaders?|apostates?|kuffar|"
          r"flüchtling\w*|ausländer\w*|asylant\w*|muslime|moslems?|juden|linke\w*|grüne\w*|antifa|nazis?|"
          r"islamisten)\b|(?:^|\s)(?:الكفار|الصليبيين|المرتدين|اليهود|النصاري|الروافض|الشيعه|المجوس|الطواغيت)")
ACTORS = (r"\b(?:sleeper cells?|lone wol(?:f|ves)|brothers|soldiers of the \w+|mujahid\w*|our fighters|"
          r"lone assassins?)\b|(?:^|\s)(?:الخلايا النائمه|خلايا نائمه|الذئاب المنفرده|ذئب منفرد|جنود الخلافه|"
          r"المجاهدين|اخواننا|الاخوه|قاتل منفرد)|\b(?:i|we|ich|wir)\b")
TIMES = (r"\b(?:today|tonight|tomorrow|this (?:week|weekend|friday|month)|next (?:week|month|friday)|soon|"
         r"now|at (?:dawn|noon|midnight)|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
         r"\d{1,2}(?::\d\d)? ?(?:am|pm)|\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?|heute(?: nacht| abend)?|morgen|bald|"
         r"jetzt|nächste woche|am (?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag))\b|"
         r"(?:^|\s)(?:اليوم|الليله|غدا|بكره|قريبا|الان|الجمعه|الاسبوع القادم|عن قريب)")
METHODS = (r"\b(?:knife|knives|gun|guns|rifle|pistol|bullets?|bombs?|explosives?|ied|suicide vest|car|truck|van|"
           r"fire|petrol|gasoline|poison|acid|sword|machete|messer|pistole|gewehr|bombe\w*|sprengstoff|"
           r"benzinkanister|benzin|auto|lkw|feuer|gift|säure)\b|(?:^|\s)(?:سكين|سكاكين|ساطور|سيف|مسدس|بندقي\w*|"
           r"رصاص\w*|عبوه\w*|حزام ناسف|مفخخ\w*|سياره|شاحنه|دهس|نار|سم|متفجر\w*)|[🔪🔫💣🗡⚔🪓🧨]")
PLACES = (r"\b(?:headquarters|hq|offices?|building|embassy|airport|station|church|mosque|synagogue|school|"
          r"stadium|parliament|zentrale|büro|botschaft|bahnhof|flughafen|moschee|kirche|synagoge|schule|"
          r"verlag)\b|(?:^|\s)(?:مقر\w*|مكتب\w*|سفار\w*|مطار|مسجد|كنيس\w*|كنيس|مدرس\w*|مبني)")
CITIES = ("San Francisco", "New York", "Washington", "London", "Paris", "Berlin", "Brussels", "Dublin",
          "Amsterdam", "Madrid", "Rome", "Vienna", "Stockholm", "Copenhagen", "Hamburg", "Munich", "München",
          "Köln", "Frankfurt", "Europe", "Europa", "America", "USA", "لندن", "باريس", "برلين", "بروكسل",
          "اوروبا", "اوربا", "امريكا", "نيويورك", "واشنطن", "سان فرانسيسكو")

_c = [re.compile(fold(p), re.MULTILINE) for p in (ROLES, GROUPS, ACTORS, TIMES, METHODS, PLACES)]
_ROLE, _GROUP, _ACTOR, _TIME, _METHOD, _PLACE = _c
# one boundary check around the whole alternation (not one per city): 60 to 4 us per post
_CITY = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(fold(c)) for c in CITIES) + r")(?!\w)")
_MENTION = re.compile(r"@\w{1,30}")
_YOU = re.compile(fold(r"\b(?:you|u|your|yall|dich|dir|euch)\b|(?:ك|كم)\b"))


@dataclass(frozen=True, slots=True)
class Extraction:
    """Spans (original offsets) by slot, and the assets they resolve to."""

    targets: tuple[Span, ...] = ()
    places: tuple[Span, ...] = ()
    actors: tuple[Span, ...] = ()
    times: tuple[Span, ...] = ()
    methods: tuple[Span, ...] = ()
    assets: tuple[str, ...] = ()
    asset_kinds: tuple[str, ...] = ()
    target_kinds: tuple[str, ...] = field(default=())

    @property
    def spans(self) -> tuple[Span, ...]:
        return (*self.targets, *self.places, *self.actors, *self.times, *self.methods)

    def to_json(self) -> dict[str, Any]:
        if not (self.targets or self.places or self.actors or self.times or self.methods or self.target_kinds):
            return {"target": [], "place": [], "actor": [], "time": [], "method": [], "target_kinds": []}

        def texts(spans: Sequence[Span]) -> list[str]:
            return list(dict.fromkeys(s.text for s in spans))
        return {"target": texts(self.targets), "place": texts(self.places), "actor": texts(self.actors),
                "time": texts(self.times), "method": texts(self.methods), "target_kinds": list(self.target_kinds)}


def _span(text: str, offsets: Sequence[int], start: int, end: int, label: str) -> Span:
    while start < end and not folded_char_is_word(text, offsets, start):
        start += 1
    if start >= end:
        return Span(offsets[start - 1] if start else 0, offsets[start - 1] + 1 if start else 0, label, "")
    s = offsets[start]
    e = offsets[end - 1] + 1
    return Span(s, e, label, text[s:e])


def folded_char_is_word(text: str, offsets: Sequence[int], i: int) -> bool:
    ch = text[offsets[i]]
    return not ch.isspace()


def extract(text: str, folded: str, offsets: Sequence[int], registry: AssetRegistry | None) -> Extraction:
    """Fill the slots for one post. ``folded``/``offsets`` come from :func:`fold_with_offsets`."""
    def spans(rx: re.Pattern[str], label: str) -> list[Span]:
        return [_span(text, offsets, m.start(), m.end(), label) for m in rx.finditer(folded) if m.end() > m.start()]

    hits: list[AssetHit] = registry.find(folded) if registry is not None else []
    targets: list[Span] = []
    places: list[Span] = []
    target_kinds: list[str] = []
    for h in hits:
        sp = _span(text, offsets, h.start, h.end, f"{'place' if h.asset.kind == 'office' else 'target'}:"
                   f"{h.asset.id}")
        (places if h.asset.kind == "office" else targets).append(sp)
        target_kinds.append({"organisation": "organisation", "leader": "person", "staff": "group",
                             "office": "place"}[h.asset.kind])
    for sp in spans(_ROLE, "target:role"):
        targets.append(sp)
        target_kinds.append("role")
    for sp in spans(_GROUP, "target:group"):
        targets.append(sp)
        target_kinds.append("group")
    for m in _MENTION.finditer(text):
        if m.group(0).lower() != "@user":
            targets.append(Span(m.start(), m.end(), "target:person", m.group(0)))
            target_kinds.append("person")
    if _YOU.search(folded):
        target_kinds.append("addressee")
    places += spans(_CITY, "place:city") + spans(_PLACE, "place:site")
    actors = _dedupe(spans(_ACTOR, "actor"))
    # words that name who acts ("soldiers of the caliphate") are not also its target
    targets = [t for t in targets if not any(a.start <= t.start < a.end for a in actors)]
    return Extraction(
        targets=tuple(_dedupe(targets)), places=tuple(_dedupe(places)),
        actors=tuple(actors), times=tuple(_dedupe(spans(_TIME, "time"))),
        methods=tuple(_dedupe(spans(_METHOD, "method"))),
        assets=tuple(dict.fromkeys(h.asset.id for h in hits)),
        asset_kinds=tuple(dict.fromkeys(h.asset.kind for h in hits)),
        target_kinds=tuple(dict.fromkeys(target_kinds)))


def assets_only(text: str, folded: str, offsets: Sequence[int], registry: AssetRegistry | None,
                hits: list[AssetHit] | None = None) -> Extraction:
    """Only the protected assets a post names (one automaton pass, unless the caller has ``hits`` already),
    for posts that are no threat: enough to tie a report to the case it reports on."""
    if hits is None:
        hits = registry.find(folded) if registry is not None else []
    if not hits:
        return Extraction()
    spans = [_span(text, offsets, h.start, h.end, f"{'place' if h.asset.kind == 'office' else 'target'}:"
                   f"{h.asset.id}") for h in hits]
    return Extraction(targets=tuple(s for s, h in zip(spans, hits, strict=True) if h.asset.kind != "office"),
                      places=tuple(s for s, h in zip(spans, hits, strict=True) if h.asset.kind == "office"),
                      assets=tuple(dict.fromkeys(h.asset.id for h in hits)),
                      asset_kinds=tuple(dict.fromkeys(h.asset.kind for h in hits)))


def _dedupe(spans: list[Span]) -> list[Span]:
    """One span per stretch of text; an asset span wins over a generic one covering the same words."""
    spans = sorted(spans, key=lambda s: (s.start, -(s.end - s.start), ":" not in s.label[7:]))
    out: list[Span] = []
    for s in spans:
        if any(o.start <= s.start and s.end <= o.end for o in out):
            continue
        out.append(s)
    return out
