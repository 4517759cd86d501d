"""The media detector: images and videos on posts, and account avatars, matched against hash banks.

For each media item it uses the hashes the platform supplied (``Media.pdq``, ``md5``, ``sha256``) or hashes
the file at ``Media.path`` (safely: see ``decode.py``), then asks the :class:`BankSet`. A post gets one
``media_match`` signal: the strongest match over its media, with the bank, entry, distance and labels of
that match in ``details`` and every match, suppressed match and per-item error listed alongside. Its value
is the entry's weight (confidence; at most 0.5 for a disputed entry) times a factor that falls from 1.0 at
distance 0 to 0.9 at the bank's threshold, so a confident bank match clears the default policy's 0.9 bar
and a disputed one goes to review instead.

Banks come from the database (``db_url``), from bank files in our own format (``bank_files``), or a ready
:class:`BankSet` (tests, the API process). With none of these the detector constructs instantly with no
banks: every post with media gets ``media_match = 0``.

Flood quarantines are applied in memory at once, written to the database when there is one (the entry is
paused and a review job opened in queue ``media-bank-flood``), reported in the triggering post's signal,
and kept for :meth:`MediaMatchDetector.take_flood_events`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from bastion.detector import Detector, PostContext
from bastion.media.banks.bankset import BankSet, MatchResult, Query
from bastion.media.banks.flood import FloodEvent, FloodGuard
from bastion.media.banks.model import EntryStatus, Match, entry_weight
from bastion.media.decode import DecodeLimits, MediaError
from bastion.media.hashing import MediaHashes, hash_bytes, hash_file
from bastion.records import Account, Media
from bastion.settings import Settings
from bastion.signals import Signal

log = logging.getLogger(__name__)

SIGNAL = "media_match"


def match_value(m: Match, threshold: int) -> float:
    """Weight of the entry times 1.0 (distance 0) ... 0.9 (distance at the threshold)."""
    closeness = 1.0 - 0.1 * min(m.distance, threshold + 1) / (threshold + 1)
    return entry_weight(m.entry) * closeness


class MediaMatchDetector(Detector):
    name: ClassVar[str] = "media"
    signals: ClassVar[tuple[str, ...]] = (SIGNAL,)
    version = "1"

    @classmethod
    def from_settings(cls, settings: Settings, options: Mapping[str, Any]) -> MediaMatchDetector:
        """The hash banks live in the run's own database unless the options name another."""
        from bastion.store.db import resolve_url

        return cls(**{"db_url": resolve_url(settings.db_url), **options})

    def __init__(self, *, db_url: str | None = None, banks: Sequence[str] | None = None,
                 bank_files: Sequence[str] = (), bankset: BankSet | None = None,
                 seconds_per_hash: float = 1.0, max_bytes: int | None = None, max_pixels: int | None = None,
                 max_duration_s: float | None = None, max_frames: int | None = None,
                 hash_files: bool = True, fetch_media: bool = False, fetch_hosts: Sequence[str] = (),
                 fetch_private: bool = False, fetch_timeout_s: float = 10.0, fetch_max_bytes: int | None = None,
                 observe_floods: bool = True, clock: Callable[[], float] = time.time) -> None:
        """``observe_floods=False``: match without counting towards flood quarantines (Spark's tasks, whose
        flood stage counts over the whole job: :mod:`bastion.spark.media`)."""
        self._params: dict[str, Any] = {
            "db_url": db_url, "banks": list(banks) if banks is not None else None,
            "bank_files": list(bank_files), "seconds_per_hash": seconds_per_hash, "max_bytes": max_bytes,
            "max_pixels": max_pixels, "max_duration_s": max_duration_s, "max_frames": max_frames,
            "hash_files": hash_files, "fetch_media": fetch_media, "fetch_hosts": list(fetch_hosts),
            "fetch_private": fetch_private, "fetch_timeout_s": fetch_timeout_s, "fetch_max_bytes": fetch_max_bytes,
            "observe_floods": observe_floods}
        self.observe_floods = observe_floods
        self.limits = DecodeLimits.with_overrides(max_bytes=max_bytes, max_pixels=max_pixels,
                                                  max_duration_s=max_duration_s, max_frames=max_frames)
        self.seconds_per_hash = seconds_per_hash
        self.hash_files = hash_files
        self.clock = clock
        self._store: Any = None
        if bankset is None:
            bankset = BankSet()
            if db_url is not None:
                from bastion.store.db import open_engine
                from bastion.store.media import MediaBankStore

                self._store = MediaBankStore(open_engine(db_url))
                bankset = self._store.load_bankset(banks)
            for path in bank_files:
                _load_file(bankset, path)
        self.bankset = bankset
        self.fetcher: Any = None
        if fetch_media:
            from bastion.media.fetch import FetchPolicy, MediaFetcher

            self.fetcher = MediaFetcher(FetchPolicy(
                allow_hosts=tuple(fetch_hosts), allow_private=fetch_private, timeout_s=fetch_timeout_s,
                max_bytes=fetch_max_bytes or self.limits.max_video_bytes))
        self._events: list[FloodEvent] = []
        self._cache: OrderedDict[tuple[str, int, int], MediaHashes | MediaError] = OrderedDict()

    # -- hashing ----------------------------------------------------------------------------------------
    def hashes(self, media: Media) -> Query | MediaError | None:
        """The item's hashes: supplied by the platform, hashed from its local path, or fetched from its URL
        (``fetch_media``); a MediaError saying why not otherwise."""
        if media.pdq or media.md5 or media.sha256:
            return Query(pdq=media.pdq.lower() if media.pdq else None, md5=media.md5, sha256=media.sha256)
        if not (self.hash_files and media.path):
            if media.url and self.fetcher is not None:
                got = self.fetcher.hashes(media.url, lambda data: hash_bytes(
                    data, self.limits, seconds_per_hash=self.seconds_per_hash))
                return got if isinstance(got, MediaError) else _query(got)
            if media.url:
                return MediaError("not_fetched", "only a URL (scan with --fetch-media, or supply hashes or a path)")
            if media.path:
                return None  # hashing local files is turned off
            return MediaError("no_content", "no hashes, path or URL")
        try:
            st = os.stat(media.path)
            key = (media.path, st.st_size, st.st_mtime_ns)
        except OSError:
            return MediaError("not_found", "no such file")
        got = self._cache.get(key)
        if got is None:
            try:
                got = hash_file(media.path, self.limits, seconds_per_hash=self.seconds_per_hash)
            except MediaError as exc:
                got = exc
            self._cache[key] = got
            if len(self._cache) > 4096:
                self._cache.popitem(last=False)
        if isinstance(got, MediaError):
            return got
        return _query(got)

    # -- detection --------------------------------------------------------------------------------------
    def _signal(self, items: Sequence[Media], at: float, observe: bool) -> Signal | None:
        if not items:
            return None
        best: tuple[float, Match, Media] | None = None
        listed: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        suppressed = quarantined = 0
        events: list[FloodEvent] = []
        hashed = 0
        for media in items:
            q = self.hashes(media)
            if q is None:
                continue
            if isinstance(q, MediaError):
                errors.append({"media": str(media.id), "error": q.code, "reason": str(q)})
                continue
            hashed += 1
            res: MatchResult = self.bankset.match(q, at=at, observe=observe)
            suppressed += len(res.suppressed)
            quarantined += len(res.quarantined)
            events.extend(res.events)
            for m in res.matches:
                v = match_value(m, self.bankset.banks[m.entry.bank].pdq_threshold)
                listed.append({"media": str(media.id), **m.to_json(), "value": round(v, 4)})
                if best is None or v > best[0]:
                    best = (v, m, media)
            listed.extend({"media": str(media.id), **m.to_json(), "value": 0.0} for m in res.quarantined)
        if hashed == 0:
            if errors:
                codes = sorted({e["error"] for e in errors})
                return Signal.missing(SIGNAL, self.name, self.version,
                                      "media could not be hashed: " + ", ".join(codes))
            return None
        if events:
            self._events.extend(events)
            if self._store is not None:
                self._store.record_flood(events)
        details: dict[str, Any] = {"matches": listed}
        labels: tuple[str, ...] = ()
        value = 0.0
        if best is not None:
            value, m, media = best
            labels = (f"bank:{m.entry.bank}", *m.entry.labels.names())
            details.update(bank=m.entry.bank, entry=m.entry.id, distance=m.distance,
                           signal_type=m.signal_type, labels=list(m.entry.labels.names()), media=str(media.id))
        if suppressed:
            details["suppressed"] = suppressed
        if quarantined:
            details["quarantined"] = quarantined
            labels = (*labels, "flood_quarantine") if events else labels
        if events:
            details["flood"] = [e.to_json() for e in events]
        if errors:
            details["errors"] = errors
        return Signal(SIGNAL, round(value, 6), self.name, self.version, labels=labels, details=details)

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        out: list[list[Signal]] = []
        for ctx in batch:
            at = ctx.post.created_at.timestamp() if ctx.post.created_at else self.clock()
            sig = self._signal(ctx.post.media, at, observe=self.observe_floods and not ctx.replay)
            out.append([sig] if sig is not None else [])
        return out

    def detect_accounts(self, accounts: Sequence[Account]) -> Sequence[Sequence[Signal]]:
        out: list[list[Signal]] = []
        for acc in accounts:
            at = acc.updated_at.timestamp() if acc.updated_at else self.clock()
            sig = self._signal((acc.avatar,) if acc.avatar else (), at, observe=self.observe_floods)
            out.append([sig] if sig is not None else [])
        return out

    def take_flood_events(self) -> list[FloodEvent]:
        """Flood quarantines since the last call (for the pipeline to open review jobs)."""
        events, self._events = self._events, []
        return events

    # -- state ------------------------------------------------------------------------------------------
    def snapshot(self) -> bytes | None:
        quarantined = [e.id for e in self.bankset.entries.values() if e.status is EntryStatus.QUARANTINED]
        return json.dumps({"v": 1, "flood": self.bankset.flood.to_json(),
                           "quarantined": quarantined}).encode()

    def restore(self, data: bytes) -> None:
        state = json.loads(data)
        if state.get("v") != 1:
            raise ValueError("unknown media detector state version")
        self.bankset.flood = FloodGuard.from_json(state["flood"])
        for eid in state.get("quarantined", []):
            if eid in self.bankset.entries:
                self.bankset.set_status(eid, EntryStatus.QUARANTINED)

    def get_params(self) -> dict[str, Any]:
        return dict(self._params)


def _query(got: MediaHashes) -> Query:
    return Query(pdq=got.pdq.hash if got.pdq else None, pdq_quality=got.pdq.quality if got.pdq else None,
                 vpdq=got.vpdq, md5=got.md5, sha256=got.sha256)


def _load_file(bankset: BankSet, path: str) -> None:
    from bastion.media.formats import read_bank

    imported = read_bank(path, "bastion", "")
    cfg = imported.config
    if cfg is None:
        from bastion.errors import ConfigError

        raise ConfigError(f"{path}: not a Bastion bank file (no header)")
    if cfg.name not in bankset.banks:
        bankset.add_bank(cfg)
    bankset.add_entries(imported.entries)
    for where, why in imported.skipped:
        log.warning("bank file %s: skipped %s: %s", path, where, why)
