"""Plain functions behind the media endpoints of the REST API, including the Hasher-Matcher-Actioner
(HMA) compatible ones, so HMA clients can point at Bastion:

==================  ====================================================================================
``GET|POST /h/hash``     :func:`hash_content` - ``{signal_type: signal}`` for an uploaded or fetched file
``GET /m/raw_lookup``    :func:`raw_lookup` - ``{"matches": [entry ids]}`` (or ``[{"content_id",
                         "distance"}]`` with ``include_distance``), every bank, no enabled-ratio coin
``GET /m/lookup``        :func:`lookup` - names of the banks the signal matches (enabled ratio, negative
                         banks and entry status applied); :func:`lookup_content` for a file
``GET /c/banks``         :func:`list_banks` - HMA's bank list (``name``, ``matching_enabled_ratio``) with
                         our bank settings and counts added
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
                 sha256=value if st == "sha256" else None)


def raw_lookup(bankset: BankSet, signal: str, signal_type: str, *, include_distance: bool = False
               ) -> dict[str, list[Any]]:
    """HMA ``/m/raw_lookup``: the ids of every matching entry (disabled entries excluded)."""
    found = bankset.lookup(_query(signal, signal_type))
    if include_distance:
        return {"matches": [{"content_id": m.entry.id, "distance": str(m.distance)} for m in found]}
    return {"matches": [m.entry.id for m in found]}


def lookup(bankset: BankSet, signal: str, signal_type: str, *, seed: str | None = None) -> list[str]:
    """HMA ``/m/lookup``: names of the banks the signal matches, after enabled ratio (``seed`` makes the
    coin flip repeatable, as in HMA), allow-lists and entry status."""
    res = bankset.match(_query(signal, signal_type), seed=seed, observe=False)
    return sorted({m.entry.bank for m in res.matches})


def lookup_content(bankset: BankSet, data: bytes, *, content_type: str | None = None,
                   seed: str | None = None, limits: DecodeLimits = DEFAULT_LIMITS) -> dict[str, list[str]]:
    """HMA ``/m/lookup`` with a file: signal type -> matching bank names."""
    return {st: lookup(bankset, sig, st, seed=seed)
            for st, sig in hash_content(data, content_type=content_type, limits=limits).items()}


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
