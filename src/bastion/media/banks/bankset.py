"""A set of banks held in memory with their indexes: the thing that answers "is this media known?".

One :class:`~bastion.media.index.mih.MIHIndex` serves the PDQ entries of every bank (searched at the
largest bank threshold, then filtered per bank), another the frames of every vPDQ entry; MD5 and SHA-256
are dictionaries. Adding or removing an entry updates the indexes in place, so a hash banked during an
incident matches the next upload without a rebuild.

:meth:`BankSet.match` applies, in order: per-bank quality gates and thresholds, the vPDQ frame rule, the
enabled ratio (a deterministic coin flip per item, so one item always gets the same answer), negative
banks and negative opinions (they suppress every positive match), entry status (disabled entries never
match; quarantined ones are reported but carry no weight), and finally the flood guard.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from bastion.errors import ConfigError, NotFound
from bastion.media.banks.flood import FloodEvent, FloodGuard
from bastion.media.banks.model import (
    EXACT_TYPES,
    BankConfig,
    BankEntry,
    EntryStatus,
    Match,
    Opinion,
    canonical_signal_type,
)
from bastion.media.bits import to_words
from bastion.media.hashers import parse_signal
from bastion.media.hashers.vpdq import VpdqSignature, parse_vpdq
from bastion.media.index.mih import MIHIndex

log = logging.getLogger(__name__)

#: vPDQ index labels are ``entry_id << FRAME_BITS | frame``, so one range removes an entry's frames.
FRAME_BITS = 20


@dataclass(frozen=True, slots=True)
class Query:
    """The hashes of one item. Any field may be missing (e.g. a platform that only sends a PDQ hash)."""

    pdq: str | None = None
    pdq_quality: int | None = None
    vpdq: VpdqSignature | None = None
    md5: str | None = None
    sha256: str | None = None
    url: str | None = None         # matched as ``url`` and as ``url_md5`` (normalised first)
    url_md5: str | None = None
    text: str | None = None        # matched as ``raw_text`` (normalised first)

    def key(self) -> str:
        """A content key for the flood guard and the enabled-ratio coin (same content, same key)."""
        return (self.sha256 or self.md5 or self.pdq or (self.vpdq.signal_str() if self.vpdq else "")
                or self.url or self.url_md5 or self.text or "")

    def exact(self) -> list[tuple[str, str]]:
        """(signal type, normalised signal) of the exact-match signals this query carries; a value that
        is not a valid signal of its type matches nothing."""
        from bastion.media.hashers.exact import normalise_text, normalise_url

        out: list[tuple[str, str]] = [(st, v.strip().lower()) for st, v in
                                      (("md5", self.md5), ("sha256", self.sha256), ("url_md5", self.url_md5)) if v]
        try:
            if self.url:
                url = normalise_url(self.url)
                out += [("url", url), ("url_md5", hashlib.md5(url.encode(), usedforsecurity=False).hexdigest())]
            if self.text:
                out.append(("raw_text", normalise_text(self.text)))
        except ValueError:
            pass
        return out


@dataclass(slots=True)
class MatchResult:
    matches: list[Match] = field(default_factory=list)       # positive, active: evidence
    suppressed: list[Match] = field(default_factory=list)    # positive, but an allow-list entry matched
    negatives: list[Match] = field(default_factory=list)     # the allow-list matches themselves
    quarantined: list[Match] = field(default_factory=list)   # entries paused by the flood guard
    events: list[FloodEvent] = field(default_factory=list)


def coin(seed: str, bank: str) -> float:
    """A stable pseudo-random number in [0, 1) for (item, bank)."""
    h = hashlib.blake2b(f"{bank}\x00{seed}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


class BankSet:
    def __init__(self, banks: Iterable[BankConfig] = ()) -> None:
        self.banks: dict[str, BankConfig] = {}
        self.entries: dict[int, BankEntry] = {}
        self.flood = FloodGuard()
        self._next_id = 1
        self._pdq = MIHIndex()
        self._vpdq = MIHIndex()
        self._vframes: dict[int, int] = {}        # entry id -> number of usable distinct frames
        self._exact: dict[str, dict[str, list[int]]] = {st: {} for st in EXACT_TYPES}
        for b in banks:
            self.add_bank(b)

    # -- banks ------------------------------------------------------------------------------------------
    def add_bank(self, config: BankConfig, *, update: bool = False) -> BankConfig:
        if config.name in self.banks and not update:
            raise ConfigError(f"bank {config.name!r} already exists")
        self.banks[config.name] = config
        return config

    def bank(self, name: str) -> BankConfig:
        try:
            return self.banks[name]
        except KeyError:
            raise NotFound(f"no bank named {name!r}") from None

    def remove_bank(self, name: str) -> int:
        self.bank(name)
        ids = [e.id for e in self.entries.values() if e.bank == name]
        for i in ids:
            self.remove_entry(i)
        del self.banks[name]
        return len(ids)

    def entries_of(self, bank: str) -> Iterator[BankEntry]:
        return (e for e in self.entries.values() if e.bank == bank)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {b: {} for b in self.banks}
        for e in self.entries.values():
            c = out[e.bank]
            c[e.signal_type] = c.get(e.signal_type, 0) + 1
            if not e.active:
                c[e.status.value] = c.get(e.status.value, 0) + 1
        return out

    # -- entries ----------------------------------------------------------------------------------------
    def add_entries(self, entries: Iterable[BankEntry]) -> list[BankEntry]:
        """Validate, assign ids and index entries (PDQ in one bulk insertion). Raises ValueError on a
        malformed signal, ConfigError on an unknown bank; nothing is added then."""
        prepared: list[BankEntry] = []
        for e in entries:
            if e.bank not in self.banks:
                raise ConfigError(f"no bank named {e.bank!r}")
            st = canonical_signal_type(e.signal_type)
            sig = parse_signal(st, e.signal).signal_str()
            eid = e.id or self._next_id
            if eid in self.entries:
                raise ValueError(f"duplicate entry id {eid}")
            self._next_id = max(self._next_id, eid + 1)
            prepared.append(replace(e, signal_type=st, signal=sig, id=eid))
        pdq = [e for e in prepared if e.signal_type == "pdq"]
        if pdq:
            self._pdq.add(to_words([e.signal for e in pdq]), [e.id for e in pdq])
        for e in prepared:
            self.entries[e.id] = e
            if e.signal_type in self._exact:
                self._exact[e.signal_type].setdefault(e.signal, []).append(e.id)
            elif e.signal_type == "vpdq":
                self._index_vpdq(e)
        return prepared

    def add_entry(self, entry: BankEntry) -> BankEntry:
        return self.add_entries([entry])[0]

    def _index_vpdq(self, e: BankEntry) -> None:
        frames = parse_vpdq(e.signal).usable(self.banks[e.bank].min_quality)
        self._vframes[e.id] = len(frames)
        if frames:
            base = e.id << FRAME_BITS
            self._vpdq.add(to_words(frames[:1 << FRAME_BITS]),
                           np.arange(base, base + min(len(frames), 1 << FRAME_BITS), dtype=np.int64))

    def get(self, entry_id: int) -> BankEntry:
        try:
            return self.entries[entry_id]
        except KeyError:
            raise NotFound(f"no bank entry {entry_id}") from None

    def set_status(self, entry_id: int, status: EntryStatus, note: str = "") -> BankEntry:
        e = self.get(entry_id).with_status(status, note)
        self.entries[entry_id] = e
        if status is EntryStatus.ACTIVE:
            self.flood.forget(entry_id)
        return e

    def remove_entry(self, entry_id: int) -> BankEntry:
        e = self.entries.pop(entry_id, None)
        if e is None:
            raise NotFound(f"no bank entry {entry_id}")
        if e.signal_type == "pdq":
            self._pdq.remove(entry_id)
        elif e.signal_type in self._exact:
            ids = self._exact[e.signal_type].get(e.signal, [])
            if entry_id in ids:
                ids.remove(entry_id)
        elif e.signal_type == "vpdq":
            self._vpdq.remove_range(entry_id << FRAME_BITS, (entry_id + 1) << FRAME_BITS)
            self._vframes.pop(entry_id, None)
        self.flood.forget(entry_id)
        return e

    # -- matching ---------------------------------------------------------------------------------------
    def lookup(self, q: Query) -> list[Match]:
        """Every entry (any bank, any status but disabled) within its bank's threshold of the query's
        hashes - no enabled ratio, no suppression, no flood guard: HMA's raw lookup."""
        found: list[Match] = []
        if q.pdq is not None and self.banks:
            limit = max(b.pdq_threshold for b in self.banks.values())
            for label, d in self._pdq.query(to_words([q.pdq.lower()])[0], limit):
                e = self.entries.get(label)
                if e is None:
                    continue
                bank = self.banks[e.bank]
                if d <= bank.pdq_threshold and (q.pdq_quality is None or q.pdq_quality >= bank.min_quality):
                    found.append(self._match(e, "pdq", d))
        for st, value in q.exact():
            for eid in self._exact[st].get(value, ()):
                found.append(self._match(self.entries[eid], st, 0))
        if q.vpdq is not None and self._vframes:
            found.extend(self._lookup_vpdq(q.vpdq))
        return [m for m in found if m.entry.status is not EntryStatus.DISABLED]

    def _match(self, e: BankEntry, st: str, d: int, ratio: float | None = None) -> Match:
        negative = self.banks[e.bank].negative or e.labels.opinion is Opinion.NEGATIVE
        return Match(e, st, d, negative=negative, frame_ratio=ratio)

    def _lookup_vpdq(self, sig: VpdqSignature) -> list[Match]:
        out: list[Match] = []
        limit = max(b.pdq_threshold for b in self.banks.values())
        by_quality: dict[int, list[str]] = {}
        for b in self.banks.values():
            by_quality.setdefault(b.min_quality, sig.usable(b.min_quality))
        for min_q, frames in by_quality.items():
            if not frames:
                continue
            qi, labels, dist = self._vpdq.search(to_words(frames), limit)
            per_entry: dict[int, dict[int, int]] = defaultdict(dict)   # entry -> query frame -> best d
            targets: dict[int, set[int]] = defaultdict(set)
            for f, label, d in zip(qi.tolist(), labels.tolist(), dist.tolist(), strict=True):
                eid = label >> FRAME_BITS
                e = self.entries.get(eid)
                if e is None:
                    continue
                bank = self.banks[e.bank]
                if bank.min_quality != min_q or d > bank.pdq_threshold:
                    continue
                best = per_entry[eid]
                best[f] = min(d, best.get(f, d))
                targets[eid].add(label)
            for eid, best in per_entry.items():
                e = self.entries[eid]
                bank = self.banks[e.bank]
                q_ratio = len(best) / len(frames)
                t_ratio = len(targets[eid]) / max(1, self._vframes.get(eid, 1))
                if q_ratio >= bank.vpdq_query_ratio and t_ratio >= bank.vpdq_target_ratio:
                    out.append(self._match(e, "vpdq", int(np.median(list(best.values()))), q_ratio))
        return out

    def match(self, q: Query, *, seed: str | None = None, at: float | None = None,
              observe: bool = True) -> MatchResult:
        """Matches that count as evidence, with everything filtered out kept for explanation.

        ``seed`` drives the enabled-ratio coin (default: the content key); ``at`` (epoch seconds, default
        now) and ``observe`` feed the flood guard (pass ``observe=False`` when re-scoring old items)."""
        res = MatchResult()
        key = q.key()
        seed = seed if seed is not None else key
        found = [m for m in self.lookup(q) if self._enabled(m.entry.bank, seed)]
        res.negatives = [m for m in found if m.negative]
        positives = [m for m in found if not m.negative]
        if res.negatives:
            res.suppressed = positives
            return res
        now = time.time() if at is None else at
        for m in positives:
            if m.entry.status is EntryStatus.QUARANTINED:
                res.quarantined.append(m)
                continue
            bank = self.banks[m.entry.bank]
            event = self.flood.observe(m.entry.id, bank.name, key, now, limit=bank.flood_limit,
                                       window_s=bank.flood_window_s) if observe and key else None
            if event is not None:
                self.set_status(m.entry.id, EntryStatus.QUARANTINED, "flood: matched "
                                f"{event.distinct_items} distinct items in {bank.flood_window_s:.0f} s")
                res.events.append(event)
                res.quarantined.append(replace(m, entry=self.entries[m.entry.id]))
                continue
            res.matches.append(m)
        return res

    def _enabled(self, bank: str, seed: str) -> bool:
        ratio = self.banks[bank].enabled_ratio
        return ratio >= 1.0 or (ratio > 0.0 and coin(seed, bank) < ratio)
