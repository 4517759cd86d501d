"""Plain functions behind the media endpoints of the REST API, including the Hasher-Matcher-Actioner
(HMA) compatible ones, so HMA clients can point at Bastion:

==================  ====================================================================================
``GET|POST /h/hash``     :func:`hma_hash` - the content type's signals under HMA's names
``GET /m/raw_lookup``    :func:`hma_raw_lookup` - content ids (or ``{"bank_content_id", "distance"}``),
                         every bank, no coin flip
``GET|POST /m/lookup``   :func:`hma_lookup` - ``{bank: [{"bank_content_id", "distance"}]}`` over enabled
                         content, after HMA's coin flip
``POST /m/compare``      :func:`hma_compare`
==================  ====================================================================================

plus :func:`match_content`, Bastion's own richer answer (bank, entry, distance, labels per match).
Errors: a malformed signal or unknown signal type raises :class:`~bastion.errors.InputError` (HTTP 400);
an undecodable file raises :class:`~bastion.media.decode.MediaError` (HTTP 422, its ``code`` in the body).
Lookups never feed the flood guard: only the pipeline's view of real uploads should pause an entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.errors import InputError
from bastion.media.banks.bankset import BankSet, Query
from bastion.media.banks.model import canonical_signal_type
from bastion.media.decode import DEFAULT_LIMITS, DecodeLimits
from bastion.media.hashers import parse_signal
from bastion.media.hashers.vpdq import VpdqSignature
from bastion.media.hashing import MediaHashes, hash_bytes

#: HMA's content types and our media kinds.
CONTENT_TYPES = {"photo": "image", "image": "image", "video": "video"}


def _kind(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    kind = CONTENT_TYPES.get(content_type.split("/")[0].lower())
    if kind is None:
        raise InputError(f"unsupported content type {content_type!r} (photo or video)")
    return kind


def hash_content(data: bytes, *, content_type: str | None = None, types: Sequence[str] | None = None,
                 limits: DecodeLimits = DEFAULT_LIMITS, seconds_per_hash: float = 1.0) -> dict[str, str]:
    """HMA ``/h/hash``: signal type -> signal for one file (``types`` restricts the answer)."""
    hashes = hash_bytes(data, limits, kind=_kind(content_type), seconds_per_hash=seconds_per_hash)
    out = hashes.signals()
    if types:
        wanted = {canonical_signal_type(t) for t in types}
        out = {k: v for k, v in out.items() if k in wanted}
    return out


def _query(signal: str, signal_type: str) -> Query:
    try:
        st = canonical_signal_type(signal_type)
        sig = parse_signal(st, signal)
    except ValueError as exc:
        raise InputError(f"invalid signal: {exc}") from None
    if isinstance(sig, VpdqSignature):
        return Query(vpdq=sig)
    value = sig.signal_str()
    return Query(pdq=value if st == "pdq" else None, md5=value if st == "md5" else None,
                 sha256=value if st == "sha256" else None, url=value if st == "url" else None,
                 url_md5=value if st == "url_md5" else None, text=value if st == "raw_text" else None)


# -- HMA 2.0 (OpenMediaMatch) wire format ------------------------------------------------------------------

#: Our signal type -> HMA's (python-threatexchange's) name.
HMA_NAMES = {"md5": "video_md5", "sha256": "video_sha256"}
#: The signal types this server offers, by HMA name (``GET /c/signal_type``).
HMA_SIGNAL_TYPES = ("pdq", "video_md5", "video_sha256", "vpdq", "url", "url_md5", "raw_text")
#: What HMA hashes for each content type (its photo and video content types), by our signal type.
HMA_CONTENT_SIGNALS = {"photo": ("pdq",), "video": ("md5", "vpdq")}


def hma_name(signal_type: str) -> str:
    return HMA_NAMES.get(signal_type, signal_type)


def signal_type_of(name: str) -> str:
    """Our signal type for an HMA name; InputError (400) for one this server does not offer."""
    try:
        st = canonical_signal_type(name)
    except ValueError:
        raise InputError(f"No such SignalType '{name}'") from None
    if hma_name(st) not in HMA_SIGNAL_TYPES:
        raise InputError(f"No such SignalType '{name}'")
    return st


def hma_hash(data: bytes, content_type: str, *, limits: DecodeLimits = DEFAULT_LIMITS) -> dict[str, str]:
    """HMA ``/h/hash``: the content type's signals under HMA's names (photo: ``pdq``; video: ``video_md5``
    and ``vpdq``)."""
    kind = _kind(content_type)
    hashes = hash_bytes(data, limits, kind=kind, seconds_per_hash=1.0).signals()
    wanted = HMA_CONTENT_SIGNALS["video" if kind == "video" else "photo"]
    return {hma_name(st): hashes[st] for st in wanted if st in hashes}


def hma_matches(bankset: BankSet, signal: str, signal_type: str, banks: set[str] | None = None,
                *, active_only: bool = False) -> list[Any]:
    st = signal_type_of(signal_type)
    found = [m for m in bankset.lookup(_query(signal, st)) if m.signal_type == st
             and (banks is None or m.entry.bank in banks)
             and (not active_only or m.entry.active)]
    return found


def hma_raw_lookup(bankset: BankSet, signal: str, signal_type: str, *, banks: set[str] | None = None,
                   include_distance: bool = False) -> dict[str, list[Any]]:
    """HMA ``/m/raw_lookup``: content ids (or ``{"bank_content_id", "distance"}``), no enabled ratio."""
    seen: dict[int, Any] = {}
    for m in hma_matches(bankset, signal, signal_type, banks):
        seen.setdefault(m.entry.content, m)
    if include_distance:
        return {"matches": [{"bank_content_id": cid, "distance": str(m.distance)} for cid, m in seen.items()]}
    return {"matches": list(seen)}


def hma_lookup(bankset: BankSet, signal: str, signal_type: str, *, banks: set[str] | None = None,
               seed: str | None = None, bypass_coinflip: bool = False) -> dict[str, list[dict[str, Any]]]:
    """HMA ``/m/lookup``: ``{bank: [{"bank_content_id", "distance"}]}`` over enabled content, after HMA's
    coin flip (``random.Random(seed).random()`` against each bank's ``matching_enabled_ratio``)."""
    import random

    matches = hma_matches(bankset, signal, signal_type, banks, active_only=True)
    coin = 0.0 if bypass_coinflip else random.Random(seed).random()
    out: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, int]] = set()
    for m in matches:
        bank = bankset.banks[m.entry.bank]
        if bank.enabled_ratio < coin or (m.entry.bank, m.entry.content) in seen:
            continue
        seen.add((m.entry.bank, m.entry.content))
        out.setdefault(m.entry.bank, []).append({"bank_content_id": m.entry.content, "distance": str(m.distance)})
    return out


def hma_compare(signal_type: str, left: str, right: str) -> list[Any]:
    """HMA ``/m/compare`` for one pair: ``[match, {"distance": d}]`` (PDQ and vPDQ)."""
    from bastion.media.bits import hamming
    from bastion.media.hashers.pdq import MATCH_THRESHOLD

    st = signal_type_of(signal_type)
    if st != "pdq":
        raise InputError(f"{signal_type} does not support hash comparison")
    try:
        a, b = (parse_signal(st, x).signal_str() for x in (left, right))
    except ValueError as exc:
        raise InputError(f"Invalid {signal_type} hash: {exc}") from None
    d = hamming(a, b)
    return [d <= MATCH_THRESHOLD, {"distance": d}]


def _query_of(h: MediaHashes) -> Query:
    return Query(pdq=h.pdq.hash if h.pdq else None, pdq_quality=h.pdq.quality if h.pdq else None,
                 vpdq=h.vpdq, md5=h.md5, sha256=h.sha256)


def match_content(bankset: BankSet, data: bytes, *, content_type: str | None = None,
                  limits: DecodeLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Bastion's lookup: the file's hashes and every match with bank, entry, distance and labels."""
    h = hash_bytes(data, limits, kind=_kind(content_type), seconds_per_hash=1.0)
    res = bankset.match(_query_of(h), observe=False)
    return {"hashes": h.to_json(), "matches": [m.to_json() for m in res.matches],
            "suppressed": [m.to_json() for m in res.suppressed],
            "allowlisted_by": [m.to_json() for m in res.negatives],
            "quarantined": [m.to_json() for m in res.quarantined]}


def match_signal(bankset: BankSet, signal: str, signal_type: str) -> dict[str, Any]:
    """:func:`match_content` for a hash instead of a file."""
    res = bankset.match(_query(signal, signal_type), observe=False)
    return {"matches": [m.to_json() for m in res.matches],
            "suppressed": [m.to_json() for m in res.suppressed],
            "allowlisted_by": [m.to_json() for m in res.negatives],
            "quarantined": [m.to_json() for m in res.quarantined]}


def list_banks(bankset: BankSet) -> list[dict[str, Any]]:
    """HMA ``/c/banks``: one object per bank (HMA's ``name`` and ``matching_enabled_ratio`` first)."""
    counts = bankset.counts()
    return [{"name": b.name, "matching_enabled_ratio": b.enabled_ratio, **b.to_json(),
             "counts": counts.get(b.name, {})} for b in sorted(bankset.banks.values(), key=lambda b: b.name)]
