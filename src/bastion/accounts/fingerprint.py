"""Fingerprints of suspended accounts and the pairwise comparison that explains a ban-evasion match.

A fingerprint keeps what an operator tends to carry from one account to the next: the handle's letters,
the display name, bio and location, the avatar's PDQ hash, links, posting style (hashtags, mentioned
accounts, linked domains of the first posts) and hashed device / IP / e-mail identifiers when the platform
supplies them. :func:`compare` scores one new account against one fingerprint and says why; the index in
:mod:`bastion.accounts.evasion_index` only decides which fingerprints are worth comparing.

Scoring is a noisy-or of per-field evidence, damped by contradictions: a handle that differs only in its
digits is suggestive, the same handle stem *and* the same name is strong, and the same handle stem with a
different name, bio and location (two people called "WarReporter") is weak. Weights were set by hand and
are documented with the figures in docs/accounts.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bastion.accounts.features import ORG_TERMS, reregistration_marker
from bastion.accounts.normalize import (
    distinctive,
    handle_leet,
    handle_segments,
    handle_stem,
    link_key,
    name_key,
    skeleton,
    string_similarity,
    tokens,
)
from bastion.records import Account


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What is kept of an account when it is suspended (JSON round-trip; identifiers already hashed)."""

    account_id: str
    handle: str
    display_name: str = ""
    bio: str = ""
    location: str = ""
    avatar_pdq: str | None = None
    links: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    style: tuple[str, ...] = ()
    suspended_at: float | None = None

    @classmethod
    def of(cls, account: Account, *, style: Sequence[str] = (), suspended_at: float | None = None
           ) -> Fingerprint:
        links = tuple(dict.fromkeys(k for k in (link_key(u) for u in account.links) if k))
        pdq = account.avatar.pdq if account.avatar is not None and account.avatar.pdq else None
        return cls(account_id=str(account.id), handle=account.handle, display_name=account.display_name,
                   bio=account.bio, location=account.location, avatar_pdq=pdq, links=links,
                   identifiers=tuple(dict.fromkeys(account.identifiers)), style=tuple(style),
                   suspended_at=suspended_at)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.account_id, "h": self.handle}
        for key, value in (("n", self.display_name), ("b", self.bio), ("l", self.location),
                           ("p", self.avatar_pdq), ("k", list(self.links)), ("i", list(self.identifiers)),
                           ("s", list(self.style)), ("t", self.suspended_at)):
            if value:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Fingerprint:
        return cls(account_id=str(obj["id"]), handle=str(obj["h"]), display_name=str(obj.get("n", "")),
                   bio=str(obj.get("b", "")), location=str(obj.get("l", "")), avatar_pdq=obj.get("p"),
                   links=tuple(obj.get("k", ())), identifiers=tuple(obj.get("i", ())),
                   style=tuple(obj.get("s", ())), suspended_at=obj.get("t"))


#: Words that name the affiliation rather than the person (organisation names and slogan tokens): shared by
#: thousands of unrelated supporters, so they are no evidence of the same operator.
AFFILIATION = frozenset(w for term in ORG_TERMS for w in tokens(term) if len(w) >= 4)


def bio_tokens(text: str) -> set[str]:
    """Distinctive words of a bio or name (folded, at least 3 letters, no particles)."""
    return set(distinctive(tokens(text), min_len=3))


@dataclass(slots=True)
class Derived:
    """A fingerprint's comparable forms, computed once per query (or per candidate in the rerank)."""

    stem: str
    leet: str
    segments: list[str]
    skeletons: set[str]
    name: str
    name_tokens: set[str]
    bio: set[str]
    location: str
    pdq: bytes | None
    links: frozenset[str]
    identifiers: frozenset[str]
    style: frozenset[str]
    marker: bool = False

    @classmethod
    def of(cls, fp: Fingerprint, marker: bool = False) -> Derived:
        segs = [s for s in distinctive(handle_segments(fp.handle)) if s not in AFFILIATION]
        name_toks = [t for t in distinctive(tokens(fp.display_name)) if t not in AFFILIATION]
        stem = handle_stem(fp.handle)
        skels = {skeleton(w) for w in (stem, *segs, *name_toks)}
        pdq = None
        if fp.avatar_pdq:
            try:
                pdq = bytes.fromhex(fp.avatar_pdq)
            except ValueError:
                pdq = None
        return cls(stem=stem, leet=handle_leet(fp.handle), segments=segs,
                   skeletons={s for s in skels if len(s) >= 4}, name=name_key(fp.display_name),
                   name_tokens=set(name_toks), bio=bio_tokens(fp.bio), location=name_key(fp.location),
                   pdq=pdq if pdq is not None and len(pdq) == 32 else None, links=frozenset(fp.links),
                   identifiers=frozenset(fp.identifiers), style=frozenset(fp.style), marker=marker)

    @classmethod
    def of_account(cls, account: Account, style: Sequence[str] = ()) -> Derived:
        return cls.of(Fingerprint.of(account, style=style), marker=reregistration_marker(account))


@dataclass(frozen=True, slots=True)
class EvidenceWeights:
    handle: float = 0.7
    name: float = 0.65
    bio: float = 0.85
    location: float = 0.25
    avatar: float = 0.9
    avatar_near: float = 0.75
    identifier: float = 0.95
    link: float = 0.8
    style: float = 0.6
    marker: float = 0.15
    name_conflict: float = 0.75
    bio_conflict: float = 0.85
    location_conflict: float = 0.9


@dataclass(slots=True)
class Match:
    """One candidate: the suspended account, the score and the evidence behind it."""

    account_id: str
    handle: str
    score: float
    evidence: dict[str, float] = field(default_factory=dict)
    conflicts: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "handle": self.handle, "score": round(self.score, 4),
                "evidence": {k: round(v, 3) for k, v in sorted(self.evidence.items(), key=lambda kv: -kv[1])},
                "conflicts": {k: round(v, 3) for k, v in self.conflicts.items()}}


def handle_similarity(q: Derived, c: Derived) -> float:
    if len(q.stem) >= 4 and q.stem == c.stem:
        return 1.0
    if len(q.leet) >= 4 and q.leet == c.leet:
        return 0.95
    sim = string_similarity(q.stem, c.stem)
    shared = set(q.segments) & set(c.segments)
    if shared:
        longest = max(len(s) for s in shared)
        sim = max(sim, 0.5 + 0.4 * longest / max(len(q.stem), len(c.stem), 1))
    elif q.skeletons & c.skeletons:
        sim = max(sim, 0.45)
    return sim


def name_similarity(q: Derived, c: Derived) -> float:
    if not q.name or not c.name:
        return 0.0
    if q.name == c.name and len(q.name) >= 3:
        return 1.0
    sim = string_similarity(q.name, c.name)
    if q.name_tokens & c.name_tokens:
        sim = max(sim, 0.6)
    elif q.skeletons & c.skeletons:
        sim = max(sim, 0.4)
    return sim


def set_similarity(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def pdq_distance(a: bytes, b: bytes) -> int:
    return int.from_bytes(bytes(x ^ y for x, y in zip(a, b, strict=True)), "big").bit_count()


def compare(q: Derived, c: Derived, *, rarity: Mapping[str, float] | None = None,
            weights: EvidenceWeights | None = None) -> tuple[float, dict[str, float], dict[str, float]]:
    """Score a new account ``q`` against a suspended fingerprint ``c``: (score, evidence, conflicts).

    ``rarity`` (field → factor in (0, 1]) discounts evidence that many suspended accounts share (a common
    name, a shared NAT address)."""
    w = weights or EvidenceWeights()
    rare = rarity or {}
    ev: dict[str, float] = {}
    hs = handle_similarity(q, c)
    if hs >= 0.3:
        short = 0.6 if min(len(q.stem), len(c.stem)) < 5 else 1.0
        ev["handle"] = w.handle * hs * hs * short * rare.get("handle", 1.0)
    ns = name_similarity(q, c)
    if ns >= 0.3:
        ev["name"] = w.name * ns * ns * rare.get("name", 1.0)
    bs = set_similarity(q.bio, c.bio)
    if bs > 0.15:
        ev["bio"] = w.bio * min(1.0, (bs - 0.15) / 0.55)
    if q.location and len(q.location) >= 3 and q.location == c.location:
        ev["location"] = w.location * rare.get("location", 1.0)
    if q.pdq is not None and c.pdq is not None:
        d = pdq_distance(q.pdq, c.pdq)
        if d <= 31:
            ev["avatar"] = (w.avatar if d <= 16 else w.avatar_near) * rare.get("avatar", 1.0)
    shared_ids = q.identifiers & c.identifiers
    if shared_ids:
        ev["identifier"] = (1.0 - (1.0 - w.identifier) ** len(shared_ids)) * rare.get("identifier", 1.0)
    shared_links = q.links & c.links
    if shared_links:
        ev["link"] = w.link * rare.get("link", 1.0)
    ss = set_similarity(q.style, c.style)
    if ss > 0.1:
        ev["style"] = w.style * min(1.0, (ss - 0.1) / 0.5)
    if not ev:
        return 0.0, ev, {}
    if q.marker:
        ev["reregistration_marker"] = w.marker
    conflicts: dict[str, float] = {}
    if q.name and c.name and ns < 0.4:
        conflicts["name"] = w.name_conflict
    if q.bio and c.bio and bs < 0.1:
        conflicts["bio"] = w.bio_conflict
    if q.location and c.location and string_similarity(q.location, c.location) < 0.5:
        conflicts["location"] = w.location_conflict
    keep = math.prod(1.0 - v for v in ev.values())
    return (1.0 - keep) * math.prod(conflicts.values()), ev, conflicts
