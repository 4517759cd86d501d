"""Profile signals: what an account says about itself in its handle, display name and bio.

Supporters' accounts announce themselves: the organisation's names and slogans in the name or bio,
"shout-out" accounts that exist to advertise others, re-registrations that say they are back ("28th
account", "back after suspension", "backup account"), numbered handles, and look-alike letters that dodge
handle blocklists. Each marker here is weak alone (researchers and journalists name the organisation too),
so the score is a capped noisy-or of small weights, reported with the markers that produced it; the account
risk model adds it to post and network evidence, and never suspends on it alone.

The terms are names, slogan tokens and structural markers only - nothing persuasive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bastion.accounts.normalize import fold
from bastion.records import Account

#: Organisation names, outlets and slogan tokens in Latin transliteration and Arabic. Matched on folded
#: text at word boundaries.
ORG_TERMS: tuple[str, ...] = (
    "islamic state", "dawla", "dawlah", "dawlat", "daula", "daulah", "khilafa", "khilafah", "khilafat",
    "khilapha", "caliphate", "baqiya", "baqiyah", "baaqiya", "tatamaddad", "isis", "isil", "wilayah",
    "wilayat", "amaq", "dabiq", "rumiyah", "nashir", "al hayat", "alhayat", "ansar al khilafah", "shahada",
    "shahadah", "shaheed", "kuffar", "muwahhid", "tawheed", "ghuraba", "ghoraba", "mujahid", "mujahideen",
    "jihad", "الدوله الاسلاميه", "دوله الخلافه", "الخلافه", "خلافه", "باقيه", "ولايه", "مجاهد", "الشهاده",
)
#: Terms that are as common in coverage of the organisation as in support of it: weaker weight.
WEAK_TERMS = frozenset({"isis", "isil", "jihad", "mujahid", "mujahideen", "shaheed", "caliphate"})
SHOUTOUT = re.compile(r"\b(?:shout\s*-?\s*outs?|s/o|#so\b|follow\s+(?:and|&)\s+share|please\s+follow|"
                      r"support\s+(?:him|her|them|this\s+account))", re.IGNORECASE)
BACK = re.compile(
    r"\b(?:(?:i'?m|is|am|we'?re|are)\s+back\b|back\s+(?:again|after|from)|new\s+account|backup(?:\s+account)?|"
    r"suspended|"
    r"suspension|\d+\s*(?:st|nd|rd|th)\s+(?:account|acc)|(?:account|acc)\s*(?:#|no\.?\s*)?\d+|\d+\s+account|"
    r"عوده|حساب\s*(?:جديد|احتياطي)|الحساب\s*رقم)\b", re.IGNORECASE)
NUMBERED = re.compile(r"(?:\d{2,}|_\d+|\d+_+\w?)$")
_LATIN = re.compile(r"[a-z]")
_OTHER_LOOKALIKE = re.compile("[\u0370-\u03ff\u0400-\u04ff]")


def _term_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    alts = sorted({re.escape(fold(t)).replace(r"\ ", r"[\s_\-]*") for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alts) + r")(?![^\W_])", re.UNICODE)


_ORG = _term_pattern(ORG_TERMS)
_WEAK = {fold(t) for t in WEAK_TERMS}


@dataclass(frozen=True, slots=True)
class Marker:
    """One profile marker: which field, what kind, the matched term, and its weight in the score."""

    field: str
    kind: str
    term: str
    weight: float

    def to_json(self) -> dict[str, object]:
        return {"field": self.field, "kind": self.kind, "term": self.term, "weight": round(self.weight, 3)}


@dataclass(frozen=True, slots=True)
class ProfileScore:
    value: float
    markers: tuple[Marker, ...]


@dataclass(frozen=True, slots=True)
class ProfileWeights:
    """Weights of each marker kind (per field for organisation terms) and the score's ceiling."""

    org_name: float = 0.45
    org_bio: float = 0.3
    weak_factor: float = 0.35
    shoutout: float = 0.25
    back: float = 0.2
    numbered: float = 0.05
    lookalike: float = 0.2
    cap: float = 0.75


def _split_handle(handle: str) -> str:
    """Handle words separated by spaces, so that word-bounded terms match (``IS_BAQIYA`` → ``is baqiya``)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|[_\d]+", " ", handle)
    return fold(spaced)


def lookalike_letters(text: str) -> bool:
    """True when one word mixes Latin letters with Cyrillic or Greek ones (``Кhilafah``)."""
    for word in text.split():
        low = word.casefold()
        if _LATIN.search(low) and _OTHER_LOOKALIKE.search(low):
            return True
    return False


def profile_markers(account: Account, weights: ProfileWeights | None = None) -> list[Marker]:
    """Every marker found in the account's handle, display name and bio."""
    w = weights or ProfileWeights()
    found: list[Marker] = []
    fields = (("handle", _split_handle(account.handle), w.org_name), ("name", fold(account.display_name),
              w.org_name), ("bio", fold(account.bio), w.org_bio))
    for field, text, base in fields:
        if not text:
            continue
        for term in dict.fromkeys(m.group(0) for m in _ORG.finditer(text)):
            norm = re.sub(r"[\s_\-]+", " ", term)
            weight = base * (w.weak_factor if norm in _WEAK else 1.0)
            found.append(Marker(field, "organisation", norm, weight))
        if field != "handle":
            m = SHOUTOUT.search(text)
            if m:
                found.append(Marker(field, "shoutout", m.group(0).lower(), w.shoutout))
            m = BACK.search(text)
            if m:
                found.append(Marker(field, "back_after_suspension", m.group(0).lower(), w.back))
    if NUMBERED.search(account.handle):
        found.append(Marker("handle", "numbered", "", w.numbered))
    for field, raw in (("handle", account.handle), ("name", account.display_name)):
        if raw and lookalike_letters(raw):
            found.append(Marker(field, "lookalike_letters", "", w.lookalike))
    return found


def combine(markers: Sequence[Marker], cap: float) -> float:
    """Noisy-or of the markers, one per (kind, term) so a slogan repeated in name and bio counts once."""
    best: dict[tuple[str, str], float] = {}
    for m in markers:
        key = (m.kind, m.term)
        best[key] = max(best.get(key, 0.0), m.weight)
    keep = 1.0
    for weight in best.values():
        keep *= 1.0 - weight
    return min(cap, 1.0 - keep)


def profile_score(account: Account, weights: ProfileWeights | None = None) -> ProfileScore:
    """The profile signal of an account, in [0, ``cap``], with the markers behind it (strongest first)."""
    w = weights or ProfileWeights()
    markers = sorted(profile_markers(account, w), key=lambda m: -m.weight)
    return ProfileScore(combine(markers, w.cap), tuple(markers))


def reregistration_marker(account: Account) -> bool:
    """The profile says the account is a re-registration (back, Nth account, backup, numbered name)."""
    text = fold(f"{account.display_name} {account.bio}")
    return bool(BACK.search(text))
