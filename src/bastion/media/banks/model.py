"""Banks of known media: what an entry says about a hash, and how a bank matches.

Vocabulary follows the hash-sharing world so imports and exports lose nothing:

* a **bank** is a named list of hashes with its own thresholds (HMA's ``BankConfig``; its
  ``enabled_ratio`` is HMA's ``matching_enabled_ratio``, a gradual roll-out switch). A *negative* bank is
  an allow-list: an item that matches it is not reported for any positive bank (false-positive control for,
  say, a news agency's photo that once sat in a propaganda video);
* an **entry** is one hash of one signal type with labels in GIFCT's style - the terrorist entity, the
  behaviour class of the hash-sharing database taxonomy, the source list, a confidence, and an
  *opinion* (ThreatExchange's positive / negative / disputed). A negative-opinion entry in a positive bank
  acts as an allow-list entry; a disputed one still matches but never scores high enough to remove on its
  own (see :func:`entry_weight`);
* entries can be **disabled** by a person, or **quarantined** automatically by the flood guard
  (``banks/flood.py``) until someone reviews them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bastion.media.hashers.pdq import MATCH_THRESHOLD, MIN_QUALITY

SIGNAL_TYPES = ("pdq", "vpdq", "md5", "sha256", "url", "url_md5", "raw_text")
#: Signal types matched by exact (normalised) equality.
EXACT_TYPES = ("md5", "sha256", "url", "url_md5", "raw_text")

#: Aliases used by other systems for our signal types.
SIGNAL_ALIASES = {"video_md5": "md5", "photo_md5": "md5", "vmd5": "md5", "hash_md5": "md5", "hash_pdq": "pdq",
                  "pdq_hash": "pdq", "hash_sha256": "sha256",
                  "video_sha256": "sha256", "photo_sha256": "sha256", "uri": "url", "hash_url_md5": "url_md5",
                  "text": "raw_text", "url_md5_hash": "url_md5", "vpdq_hash": "vpdq", "hash_vpdq": "vpdq"}

#: Behaviour classes of GIFCT's hash-sharing database taxonomy (free text is accepted as well).
BEHAVIOURS = ("imminent_credible_threat", "graphic_violence_against_defenceless", "glorification_of_acts",
              "radicalisation_recruitment_instruction", "content_incident_protocol")


class Opinion(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    DISPUTED = "disputed"


class EntryStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    QUARANTINED = "quarantined"


def canonical_signal_type(name: str) -> str:
    n = name.strip().lower()
    n = SIGNAL_ALIASES.get(n, n)
    if n not in SIGNAL_TYPES:
        raise ValueError(f"unsupported signal type {name!r} (known: {', '.join(SIGNAL_TYPES)})")
    return n


@dataclass(frozen=True, slots=True)
class EntryLabels:
    entity: str | None = None
    behaviour: str | None = None
    source: str | None = None
    confidence: float = 1.0
    opinion: Opinion = Opinion.POSITIVE
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must lie in [0, 1]")

    def names(self) -> tuple[str, ...]:
        """Flat label strings for a signal (``entity:...``, ``behaviour:...``, tags)."""
        out = []
        if self.entity:
            out.append(f"entity:{self.entity}")
        if self.behaviour:
            out.append(f"behaviour:{self.behaviour}")
        if self.source:
            out.append(f"source:{self.source}")
        if self.opinion is not Opinion.POSITIVE:
            out.append(f"opinion:{self.opinion.value}")
        out.extend(self.tags)
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"confidence": self.confidence, "opinion": self.opinion.value}
        for k in ("entity", "behaviour", "source"):
            v = getattr(self, k)
            if v:
                out[k] = v
        if self.tags:
            out["tags"] = list(self.tags)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EntryLabels:
        return cls(entity=d.get("entity") or None, behaviour=d.get("behaviour") or None,
                   source=d.get("source") or None, confidence=float(d.get("confidence", 1.0)),
                   opinion=Opinion(d.get("opinion", "positive")), tags=tuple(d.get("tags", ())))


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One banked hash. ``id`` is unique across banks (0 until a bank set or store assigns one)."""

    bank: str
    signal_type: str
    signal: str
    labels: EntryLabels = field(default_factory=EntryLabels)
    id: int = 0
    status: EntryStatus = EntryStatus.ACTIVE
    external_id: str | None = None
    added_at: datetime | None = None
    note: str = ""
    #: the banked item this signal was taken from (HMA's ``bank_content_id``): one upload's PDQ, MD5 and
    #: vPDQ share it; None means the entry is its own content (its ``id``)
    content_id: int | None = None
    #: what the submitter said about the content (HMA's metadata: ``content_id``, ``content_uri``, ``json``)
    meta: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return self.status is EntryStatus.ACTIVE

    @property
    def content(self) -> int:
        """HMA's content id of this entry."""
        return self.content_id or self.id

    def with_status(self, status: EntryStatus, note: str = "") -> BankEntry:
        return replace(self, status=status, note=note or self.note)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "bank": self.bank, "signal_type": self.signal_type,
                               "signal": self.signal, "labels": self.labels.to_json(),
                               "status": self.status.value}
        if self.external_id:
            out["external_id"] = self.external_id
        if self.added_at:
            out["added_at"] = self.added_at.isoformat()
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class BankConfig:
    name: str
    negative: bool = False
    pdq_threshold: int = MATCH_THRESHOLD
    min_quality: int = MIN_QUALITY
    vpdq_query_ratio: float = 0.8
    vpdq_target_ratio: float = 0.0
    enabled_ratio: float = 1.0
    flood_limit: int = 50
    flood_window_s: float = 3600.0
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 128:
            raise ValueError("a bank name is 1-128 characters")
        if not 0 <= self.pdq_threshold <= 128:
            raise ValueError("pdq_threshold must lie in [0, 128]")
        for k in ("vpdq_query_ratio", "vpdq_target_ratio", "enabled_ratio"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"{k} must lie in [0, 1]")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "negative": self.negative, "pdq_threshold": self.pdq_threshold,
                "min_quality": self.min_quality, "vpdq_query_ratio": self.vpdq_query_ratio,
                "vpdq_target_ratio": self.vpdq_target_ratio, "enabled_ratio": self.enabled_ratio,
                "flood_limit": self.flood_limit, "flood_window_s": self.flood_window_s,
                "description": self.description}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BankConfig:
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if "matching_enabled_ratio" in d and "enabled_ratio" not in d:  # HMA's name
            fields["enabled_ratio"] = d["matching_enabled_ratio"]
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Match:
    """One bank entry an item matched. ``distance`` is 0 for exact hashes; for vPDQ it is the median
    distance of the matched frames, and ``frame_ratio`` the share of the item's frames that matched."""

    entry: BankEntry
    signal_type: str
    distance: int
    negative: bool = False
    frame_ratio: float | None = None

    @property
    def bank(self) -> str:
        return self.entry.bank

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"bank": self.entry.bank, "entry": self.entry.id,
                               "signal_type": self.signal_type, "distance": self.distance,
                               "labels": list(self.entry.labels.names())}
        if self.entry.external_id:
            out["external_id"] = self.entry.external_id
        if self.frame_ratio is not None:
            out["frame_ratio"] = round(self.frame_ratio, 4)
        if self.negative:
            out["negative"] = True
        if not self.entry.active:
            out["status"] = self.entry.status.value
        return out


def entry_weight(entry: BankEntry) -> float:
    """How strongly a match on this entry supports removal, in [0, 1]: its confidence, capped at 0.5 for a
    disputed opinion (a person should look before anything is removed)."""
    w = entry.labels.confidence
    return min(w, 0.5) if entry.labels.opinion is Opinion.DISPUTED else w
