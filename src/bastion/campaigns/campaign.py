"""Campaign objects: what was detected, over which hashtags and window, by whom, on what evidence.

A campaign is opened when a hashtag's flagged posts burst against its own baseline and the evidence score
passes; later hashtags whose bursts share participating accounts with an open campaign join it, so one
barrage across ``#a #b #c`` is one campaign. A campaign closes ``ttl_s`` after its last flagged post.

Two kinds, because they call for different actions:

* ``barrage``: the hashtag's traffic *is* the campaign (its window is mostly flagged posts and it has no
  established organic use): de-trend the hashtag, review, bulk action on participants;
* ``hijack``: extremist posts pushed into a hashtag people already use (IS did this with World Cup hashtags
  in 2014, and news hashtags are the obvious target): the trend stays, the campaign's posts are taken out
  of it, and participants are reviewed. A hijacked hashtag is listed under ``hijacked``, never under
  ``hashtags``, so an effect that de-trends ``details.hashtags`` cannot de-trend the public's hashtag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bastion.campaigns.clock import from_epoch

BARRAGE = "barrage"
HIJACK = "hijack"


@dataclass(slots=True)
class Campaign:
    id: str
    started_at: float  # event time of the first flagged post in the window that opened it
    detected_at: float
    last_seen: float
    hashtags: list[str] = field(default_factory=list)  # barrage hashtags: safe to de-trend
    hijacked: list[str] = field(default_factory=list)  # popular hashtags it pushed into: filter, keep trend
    participants: dict[str, int] = field(default_factory=dict)  # account -> flagged posts
    sample_posts: list[str] = field(default_factory=list)
    posts: int = 0
    score: float = 0.0
    signals: dict[str, Any] = field(default_factory=dict)  # per hashtag: burst + coordination summary
    reasons: list[str] = field(default_factory=list)
    closed: bool = False

    @property
    def all_hashtags(self) -> list[str]:
        return [*self.hashtags, *self.hijacked]

    def kind_of(self, tag: str) -> str | None:
        if tag in self.hashtags:
            return BARRAGE
        if tag in self.hijacked:
            return HIJACK
        return None

    def add_post(self, post_id: str, account: str, ts: float, max_participants: int,
                 max_samples: int) -> None:
        self.posts += 1
        self.last_seen = max(self.last_seen, ts)
        if account in self.participants or len(self.participants) < max_participants:
            self.participants[account] = self.participants.get(account, 0) + 1
        if len(self.sample_posts) < max_samples and post_id not in self.sample_posts:
            self.sample_posts.append(post_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": BARRAGE if self.hashtags else HIJACK,
            "hashtags": self.hashtags, "hijacked": self.hijacked,
            "window": {"start": from_epoch(self.started_at).isoformat(),
                       "detected": from_epoch(self.detected_at).isoformat(),
                       "last_seen": from_epoch(self.last_seen).isoformat()},
            "participants": sorted(self.participants, key=lambda a: -self.participants[a]),
            "participant_posts": self.participants, "sample_posts": self.sample_posts, "posts": self.posts,
            "score": round(self.score, 4), "signals": self.signals, "reasons": self.reasons,
            "closed": self.closed,
            "effects": (["detrend", "review", "bulk_action_participants"] if self.hashtags
                        else ["filter_from_trend", "review", "bulk_action_participants"]),
        }

    def to_state(self) -> dict[str, Any]:
        return {"id": self.id, "started_at": self.started_at, "detected_at": self.detected_at,
                "last_seen": self.last_seen, "hashtags": self.hashtags, "hijacked": self.hijacked,
                "participants": self.participants, "sample_posts": self.sample_posts, "posts": self.posts,
                "score": self.score, "signals": self.signals, "reasons": self.reasons, "closed": self.closed}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Campaign:
        return cls(id=str(d["id"]), started_at=float(d["started_at"]), detected_at=float(d["detected_at"]),
                   last_seen=float(d["last_seen"]), hashtags=list(d["hashtags"]),
                   hijacked=list(d["hijacked"]),
                   participants={str(k): int(v) for k, v in d["participants"].items()},
                   sample_posts=list(d["sample_posts"]), posts=int(d["posts"]), score=float(d["score"]),
                   signals=dict(d["signals"]), reasons=list(d["reasons"]), closed=bool(d["closed"]))


def campaign_id(tag: str, started_at: float) -> str:
    """Stable id from the opening hashtag and start time (the same replay gives the same ids)."""
    digest = hashlib.blake2b(f"{tag}|{started_at:.0f}".encode(), digest_size=6).hexdigest()
    return f"cmp-{digest}"


class CampaignBook:
    """Open campaigns indexed by hashtag, plus a bounded history of closed ones."""

    def __init__(self, ttl_s: float = 3600.0, max_closed: int = 1000) -> None:
        self.ttl_s = ttl_s
        self.max_closed = max_closed
        self._open: dict[str, Campaign] = {}
        self._by_tag: dict[str, str] = {}
        self.closed: list[Campaign] = []

    def __iter__(self) -> Iterator[Campaign]:
        return iter(self._open.values())

    def __len__(self) -> int:
        return len(self._open)

    def get(self, cid: str) -> Campaign | None:
        return self._open.get(cid)

    def for_tag(self, tag: str, at: float | None = None) -> Campaign | None:
        cid = self._by_tag.get(tag)
        if cid is None:
            return None
        camp = self._open.get(cid)
        if camp is None or (at is not None and at - camp.last_seen > self.ttl_s):
            return None
        return camp

    def open(self, camp: Campaign) -> Campaign:
        self._open[camp.id] = camp
        for tag in camp.all_hashtags:
            self._by_tag[tag] = camp.id
        return camp

    def attach(self, camp: Campaign, tag: str, kind: str) -> None:
        if tag not in camp.all_hashtags:
            (camp.hashtags if kind == BARRAGE else camp.hijacked).append(tag)
        self._by_tag[tag] = camp.id

    def overlapping(self, accounts: set[str], at: float) -> Campaign | None:
        """The open campaign sharing the most participants with ``accounts`` (at least one)."""
        best: Campaign | None = None
        best_n = 0
        for camp in self._open.values():
            if at - camp.last_seen > self.ttl_s:
                continue
            n = len(accounts.intersection(camp.participants))
            if n > best_n:
                best, best_n = camp, n
        return best

    def expire(self, at: float) -> list[Campaign]:
        """Close campaigns silent for longer than ``ttl_s``."""
        done = [c for c in self._open.values() if at - c.last_seen > self.ttl_s]
        for camp in done:
            camp.closed = True
            del self._open[camp.id]
            for tag in camp.all_hashtags:
                if self._by_tag.get(tag) == camp.id:
                    del self._by_tag[tag]
            self.closed.append(camp)
        if len(self.closed) > self.max_closed:
            del self.closed[: len(self.closed) - self.max_closed]
        return done

    def snapshot(self) -> dict[str, Any]:
        return {"open": [c.to_state() for c in self._open.values()],
                "closed": [c.to_state() for c in self.closed]}

    def restore(self, data: dict[str, Any]) -> None:
        self._open = {}
        self._by_tag = {}
        for d in data.get("open", []):
            self.open(Campaign.from_state(d))
        self.closed = [Campaign.from_state(d) for d in data.get("closed", [])]
