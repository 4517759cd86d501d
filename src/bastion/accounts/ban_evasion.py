"""Ban evasion: check every new account, at registration, against the fingerprints of suspended ones.

:class:`BanEvasionDetector` (registry name ``ban_evasion``) keeps

* a bounded cache of recently seen accounts (from :meth:`detect_accounts` and post authors), because an
  :class:`~bastion.records.EnforcementEvent` names only the account id and the fingerprint needs the
  profile; a suspension of an account not in the cache is remembered and fingerprinted when it shows up;
* the posting style of those accounts' first posts (hashtags, mentioned accounts, linked domains);
* the :class:`~bastion.accounts.evasion_index.FingerprintIndex` of suspended accounts.

``detect_accounts`` emits the ``ban_evasion`` signal (the best candidate's score) with the ranked
candidates and the evidence for each in ``details``; the policy decides (suspend when strong, review when
medium). After an account's first ``recheck_after_posts`` posts it is checked again with its posting style
and the result comes out of :meth:`account_signals`.

State is keyed by account and snapshots to one ``.npz`` (arrays and JSON members, no pickle).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bastion.accounts.evasion_index import FingerprintIndex, IndexConfig
from bastion.accounts.features import reregistration_marker
from bastion.accounts.fingerprint import Derived, Fingerprint, Match
from bastion.accounts.normalize import link_key
from bastion.accounts.state import pack, unpack
from bastion.detector import Detector, PostContext
from bastion.records import (
    Account,
    AccountId,
    Edge,
    EnforcementEvent,
    EnforcementKind,
    Media,
    MediaId,
    Post,
    Report,
    TargetKind,
)
from bastion.signals import Signal

log = logging.getLogger(__name__)
SIGNAL = "ban_evasion"


def account_to_json(a: Account) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(a.id), "h": a.handle, "n": a.display_name, "b": a.bio, "l": a.location}
    if a.avatar is not None and a.avatar.pdq:
        out["p"] = a.avatar.pdq
    if a.links:
        out["k"] = list(a.links)
    if a.identifiers:
        out["i"] = list(a.identifiers)
    return out


def account_from_json(o: Mapping[str, Any]) -> Account:
    avatar = Media(id=MediaId(f"avatar:{o['id']}"), pdq=o["p"]) if o.get("p") else None
    return Account(id=AccountId(str(o["id"])), handle=str(o["h"]), display_name=str(o.get("n", "")),
                   bio=str(o.get("b", "")), location=str(o.get("l", "")), avatar=avatar,
                   links=tuple(o.get("k", ())), identifiers=tuple(o.get("i", ())))


def _same_profile(a: Account, b: Account) -> bool:
    pa = a.avatar.pdq if a.avatar else None
    pb = b.avatar.pdq if b.avatar else None
    return (a.handle, a.display_name, a.bio, a.location, pa, a.links, a.identifiers) == (
        b.handle, b.display_name, b.bio, b.location, pb, b.links, b.identifiers)


def style_tokens(post: Post) -> list[str]:
    """Posting-style tokens of one post: hashtags, mentioned accounts, linked hosts+paths."""
    out = [f"#{h.casefold()}" for h in post.hashtags] + [f"@{m.casefold()}" for m in post.mentions]
    out += [f"u:{k}" for k in (link_key(u) for u in post.urls) if k]
    return out


def evasion_signal(matches: Sequence[Match], stage: str, on_file: int, min_report: float = 0.05) -> Signal:
    """The ``ban_evasion`` signal from an account's ranked candidates (here and in Spark's look-up by joins)."""
    value = matches[0].score if matches else 0.0
    labels = ("ban_evasion:strong",) if value >= 0.9 else ("ban_evasion:medium",) if value >= 0.6 else ()
    details = {"stage": stage, "suspended_on_file": on_file,
               "candidates": [m.to_json() for m in matches if m.score >= min_report]}
    return Signal(name=SIGNAL, value=value, detector=BanEvasionDetector.name, version=BanEvasionDetector.version,
                  labels=labels, details=details)


class BanEvasionDetector(Detector):
    name = "ban_evasion"
    signals = (SIGNAL,)
    version = "1"

    def __init__(self, *, top_k: int = 5, cache_size: int = 200_000, style_posts: int = 20,
                 recheck_after_posts: int = 5, min_report: float = 0.05) -> None:
        self.top_k = top_k
        self.cache_size = cache_size
        self.style_posts = style_posts
        self.recheck_after_posts = recheck_after_posts
        self.min_report = min_report
        self.index = FingerprintIndex(IndexConfig())
        self._cache: OrderedDict[str, Account] = OrderedDict()
        self._style: dict[str, list[str]] = {}
        self._posts: dict[str, int] = {}
        self._pending: OrderedDict[str, float | None] = OrderedDict()
        self._recheck: list[str] = []

    def get_params(self) -> Mapping[str, Any]:
        return {"top_k": self.top_k, "cache_size": self.cache_size, "style_posts": self.style_posts,
                "recheck_after_posts": self.recheck_after_posts, "min_report": self.min_report}

    # -- remembering accounts ------------------------------------------------------------------------
    def _remember(self, account: Account) -> None:
        aid = str(account.id)
        self._cache[aid] = account
        self._cache.move_to_end(aid)
        while len(self._cache) > self.cache_size:
            old, _ = self._cache.popitem(last=False)
            self._style.pop(old, None)
            self._posts.pop(old, None)
        if aid in self._pending:
            self._suspend(aid, self._pending.pop(aid))

    def _suspend(self, aid: str, at: float | None) -> None:
        account = self._cache.get(aid)
        if account is None:
            self._pending[aid] = at
            while len(self._pending) > self.cache_size:
                self._pending.popitem(last=False)
            return
        self.index.add(Fingerprint.of(account, style=self._style.get(aid, ()), suspended_at=at))
        log.info("fingerprinted suspended account %s (%d on file)", aid, len(self.index))

    def suspend(self, account: Account, at: float | None = None) -> None:
        """Fingerprint a suspended account directly (bulk loads, evaluation replays)."""
        self._remember(account)
        self._suspend(str(account.id), at)

    def cached(self, account_id: str) -> Account | None:
        """The last profile seen of a recent account, if still in the cache."""
        return self._cache.get(account_id)

    # -- detector interface --------------------------------------------------------------------------
    def check(self, account: Account, style: Sequence[str] = ()) -> list[Match]:
        """Ranked suspended candidates for one account (without remembering it)."""
        return self.index.query(Derived.of(Fingerprint.of(account, style=style),
                                           marker=reregistration_marker(account)),
                                k=self.top_k, exclude=str(account.id))

    def _signal(self, matches: list[Match], stage: str) -> Signal:
        return evasion_signal(matches, stage, len(self.index), self.min_report)

    def detect_accounts(self, accounts: Sequence[Account]) -> Sequence[Sequence[Signal]]:
        """Check accounts at registration, and again whenever the profile changes (an unchanged profile seen
        again - every row of some feeds repeats it - is not checked twice)."""
        out: list[Sequence[Signal]] = []
        for account in accounts:
            before = self._cache.get(str(account.id))
            self._remember(account)
            if before is not None and _same_profile(before, account):
                out.append(())
                continue
            if str(account.id) in self.index.rows:
                out.append(())  # already suspended: nothing to evade yet
                continue
            out.append((self._signal(self.check(account), "registration"),))
        return out

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        for ctx in batch:
            aid = str(ctx.post.account_id)
            if ctx.replay:
                continue
            if ctx.author is not None and aid not in self._cache:
                self._remember(ctx.author)
            if aid not in self._cache:
                continue
            n = self._posts.get(aid, 0) + 1
            self._posts[aid] = n
            if n <= self.style_posts:
                self._style.setdefault(aid, []).extend(style_tokens(ctx.post))
            if n == self.recheck_after_posts:
                self._recheck.append(aid)
        return [() for _ in batch]

    def observe(self, records: Iterable[Edge | Report | EnforcementEvent]) -> None:
        for rec in records:
            if not isinstance(rec, EnforcementEvent) or rec.target_kind != TargetKind.ACCOUNT:
                continue
            if rec.kind == EnforcementKind.SUSPEND:
                self._suspend(rec.target_id, rec.created_at.timestamp())
            elif rec.kind == EnforcementKind.REINSTATE:
                self.index.deactivate(rec.target_id)
                self._pending.pop(rec.target_id, None)

    def account_signals(self) -> Mapping[str, Sequence[Signal]]:
        out: dict[str, Sequence[Signal]] = {}
        for aid in self._recheck:
            account = self._cache.get(aid)
            if account is None or aid in self.index.rows:
                continue
            out[aid] = (self._signal(self.check(account, self._style.get(aid, ())), "posting_style"),)
        self._recheck.clear()
        return out

    # -- state ---------------------------------------------------------------------------------------
    def snapshot(self) -> bytes | None:
        state = {"version": self.version,
                 "cache": [account_to_json(a) for a in self._cache.values()],
                 "style": self._style, "posts": self._posts, "pending": list(self._pending.items()),
                 "recheck": self._recheck}
        return pack(state, self.index.to_arrays())

    def restore(self, data: bytes) -> None:
        state, arrays = unpack(data)
        self.index = FingerprintIndex.from_arrays(arrays, IndexConfig())
        self._cache = OrderedDict((str(o["id"]), account_from_json(o)) for o in state["cache"])
        self._style = {str(k): list(v) for k, v in state["style"].items()}
        self._posts = {str(k): int(v) for k, v in state["posts"].items()}
        self._pending = OrderedDict((str(k), v) for k, v in state["pending"])
        self._recheck = [str(a) for a in state["recheck"]]
