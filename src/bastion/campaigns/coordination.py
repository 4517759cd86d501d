"""Coordination signals: who posts under a hashtag, how alike, and how in step.

For each post the stage keeps a compact observation (:class:`Obs`) in the hashtag's recent list. When a
hashtag's flagged channel bursts, :func:`coordination` summarises the observations in the window:

* ``flagged_share`` - posts judged extremist (by the propaganda signal, account risk, or own heuristics);
* ``risky_share`` - posts from high-risk accounts (``account_risk`` signal, or the stage's own account
  history), or from accounts that were suspended and came back (``ban_evasion``, or an observed
  suspension followed by posting);
* ``new_share`` - posts from accounts created less than ``new_account_days`` before posting;
* ``dup_share`` - near-duplicates of a recent post by a *different* account (copy-paste, retweet rings);
* ``sync_share`` - posts within ``sync_s`` of a post by a different account (app-driven barrages fire
  together; the public does not);
* ``cooc_share`` - posts that also carry a known extremist hashtag or a hashtag already in a campaign;
* ``concentration`` - 1 - accounts/posts: a few accounts posting many times.

Account history lives in :class:`AccountBook`, keyed by account id, with JSON snapshot/restore.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Obs flags (bit mask)
FLAGGED = 1
RISKY = 2
NEW = 4
DUP = 8
COOC = 16
RETURNED = 32


@dataclass(frozen=True, slots=True)
class Obs:
    """One post as a hashtag's recent list remembers it (no text: ids, time, scores, flags)."""

    t: float
    post_id: str
    account: str
    suspicion: float
    flags: int

    def to_json(self) -> list[Any]:
        return [self.t, self.post_id, self.account, self.suspicion, self.flags]  # state: full precision

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Obs:
        t, pid, acc, s, fl = data
        return cls(float(t), str(pid), str(acc), float(s), int(fl))


@dataclass(frozen=True, slots=True)
class Coordination:
    posts: int
    accounts: int
    flagged_share: float
    risky_share: float
    new_share: float
    dup_share: float
    sync_share: float
    cooc_share: float
    concentration: float
    mean_suspicion: float  # over flagged posts

    def combined(self) -> float:
        """Noisy-OR of the coordination evidence (each term weighted by how telling it is alone)."""
        keep = 1.0
        for value, weight in ((self.risky_share, 0.6), (self.new_share, 0.4), (self.dup_share, 0.5),
                              (self.sync_share, 0.4), (self.cooc_share, 0.5), (self.concentration, 0.4)):
            keep *= 1.0 - weight * value
        return 1.0 - keep

    def reasons(self, min_share: float = 0.3) -> list[str]:
        out = [f"flagged posts {self.flagged_share:.0%} of {self.posts}"]
        for label, value in (("high-risk or returning accounts", self.risky_share),
                             ("brand-new accounts", self.new_share),
                             ("near-duplicate text", self.dup_share),
                             ("synchronised posting", self.sync_share),
                             ("co-occurs with extremist hashtags", self.cooc_share)):
            if value >= min_share:
                out.append(f"{label} {value:.0%}")
        if self.concentration >= 0.5:
            out.append(f"{self.posts} posts from {self.accounts} accounts")
        return out

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v)
                for k, v in ((f, getattr(self, f)) for f in self.__slots__)}


def coordination(obs: Sequence[Obs], sync_s: float = 60.0) -> Coordination:
    """Summarise the observations of one hashtag's window (time-ordered)."""
    n = len(obs)
    if n == 0:
        return Coordination(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    flagged = risky = new = dup = cooc = 0
    susp = 0.0
    accounts: set[str] = set()
    for o in obs:
        accounts.add(o.account)
        fl = o.flags
        if fl & FLAGGED:
            flagged += 1
            susp += o.suspicion
        if fl & (RISKY | RETURNED):
            risky += 1
        if fl & NEW:
            new += 1
        if fl & DUP:
            dup += 1
        if fl & COOC:
            cooc += 1
    return Coordination(
        posts=n, accounts=len(accounts), flagged_share=flagged / n, risky_share=risky / n,
        new_share=new / n, dup_share=dup / n, sync_share=_sync_share(obs, sync_s) if n > 1 else 0.0,
        cooc_share=cooc / n, concentration=1.0 - len(accounts) / n,
        mean_suspicion=susp / flagged if flagged else 0.0)


def _sync_share(obs: Sequence[Obs], sync_s: float) -> float:
    """Share of posts within ``sync_s`` seconds of a post by a different account (two-pointer sweep)."""
    n = len(obs)
    hit = [False] * n
    j = 0
    for i in range(n):
        while obs[i].t - obs[j].t > sync_s:
            j += 1
        for k in range(j, i):
            if obs[k].account != obs[i].account:
                hit[i] = hit[k] = True
                break
    return sum(hit) / n


@dataclass(slots=True)
class AccountState:
    posts: int = 0
    flagged: int = 0  # posts whose own text score reached the flag threshold
    profile: float = 0.0  # own profile heuristic
    signal: float | None = None  # the latest ``account_risk`` signal seen for this account
    campaigns: int = 0  # campaigns this account took part in when they opened
    suspended_at: float | None = None
    returned: bool = False

    def history_risk(self, min_rate: float = 0.05) -> float:
        """1 - exp(-flagged/4) once flagged posts are at least ``min_rate`` of the account's posts: three
        flagged posts make an account high-risk (0.53), one stray match never does (0.22)."""
        if self.flagged == 0 or self.flagged < min_rate * self.posts:
            return 0.0
        return 1.0 - math.exp(-self.flagged / 4.0)

    def risk(self, participant_risk: float = 0.6) -> float:
        """The account's risk: the upstream signal when there is one, else the own estimate (history,
        profile, and having taken part in an extremist campaign)."""
        if self.signal is not None:
            return self.signal
        return max(self.history_risk(), self.profile, participant_risk if self.campaigns else 0.0)

    def telling(self) -> bool:
        return bool(self.flagged or self.profile or self.signal or self.campaigns or self.returned
                    or self.suspended_at is not None)

    def to_json(self) -> list[Any]:
        return [self.posts, self.flagged, self.profile, self.signal, self.campaigns,  # state: full precision
                self.suspended_at, self.returned]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> AccountState:
        posts, flagged, profile, signal, campaigns, susp, returned = data
        return cls(int(posts), int(flagged), float(profile), None if signal is None else float(signal),
                   int(campaigns), None if susp is None else float(susp), bool(returned))


class AccountBook:
    """Per-account history the stage keeps for itself, used when no ``account_risk`` signal is given."""

    def __init__(self) -> None:
        self._accounts: dict[str, AccountState] = {}

    def __len__(self) -> int:
        return len(self._accounts)

    def get(self, account: str) -> AccountState | None:
        return self._accounts.get(account)

    def touch(self, account: str) -> AccountState:
        st = self._accounts.get(account)
        if st is None:
            st = self._accounts[account] = AccountState()
        return st

    def record_post(self, account: str, text_flagged: bool, ts: float) -> AccountState:
        st = self.touch(account)
        st.posts += 1
        if text_flagged:
            st.flagged += 1
        if st.suspended_at is not None and ts >= st.suspended_at:
            st.returned = True
        return st

    def suspend(self, account: str, ts: float) -> None:
        st = self.touch(account)
        st.suspended_at = ts
        st.returned = False

    def reinstate(self, account: str) -> None:
        st = self.touch(account)
        st.suspended_at = None
        st.returned = False

    def prune(self, keep: Iterable[str] = ()) -> int:
        """Drop accounts with nothing telling in their history (one-off posters with no flagged post)."""
        keep_set = set(keep)
        drop = [a for a, s in self._accounts.items() if a not in keep_set and not s.telling()]
        for a in drop:
            del self._accounts[a]
        return len(drop)

    def snapshot(self) -> dict[str, Any]:
        return {a: s.to_json() for a, s in self._accounts.items()}

    def restore(self, data: dict[str, Any]) -> None:
        self._accounts = {str(a): AccountState.from_json(v) for a, v in data.items()}
