"""The trend filter: candidate trends in, allow or suppress out, always with reasons.

A platform's trend service proposes candidates (hashtag + counts); this filter says which may trend. The
rules, in order, stop at the first that applies:

1. a **known extremist hashtag** (the shipped list: the group's outlets, provinces and in-group names) ->
   suppress;
2. an open **barrage** campaign on the hashtag -> suppress (the hashtag's traffic is the campaign);
3. an open **hijack** campaign on the hashtag -> allow, but name the campaign and how many of the window's
   posts it contributed, so the trend service drops them (the public's hashtag keeps trending);
4. no campaign, but the window is dominated by flagged posts (``suppress_share``, at least
   ``min_flagged`` of them) on a hashtag without established organic use -> suppress (sustained extremist
   use that never burst, so never opened a campaign);
5. otherwise allow.

News and crisis hashtags are protected by construction rather than by a list: they are used by many
unflagged authors (so they are "established", which rules out 2 and 4), and their bursts are bursts of
unflagged posts, which never open a campaign at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bastion.campaigns.campaign import BARRAGE, HIJACK
from bastion.campaigns.engine import CampaignEngine
from bastion.campaigns.heuristics import KnownHashtags, normalize_hashtag
from bastion.errors import RecordError

ALLOW = "allow"
SUPPRESS = "suppress"


@dataclass(frozen=True, slots=True)
class TrendCandidate:
    hashtag: str
    count: int | None = None  # the trend service's own count (informational)
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any) -> TrendCandidate:
        if isinstance(obj, str):
            return cls(obj)
        if not isinstance(obj, Mapping):
            raise RecordError("a trend candidate is a hashtag string or an object with 'hashtag'")
        tag = obj.get("hashtag", obj.get("tag", obj.get("name")))
        if not isinstance(tag, str) or not normalize_hashtag(tag):
            raise RecordError("missing", field="hashtag")
        count = obj.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise RecordError("count must be an integer", field="count")
        return cls(tag, count, {k: v for k, v in obj.items() if k not in ("hashtag", "tag", "name", "count")})


@dataclass(frozen=True, slots=True)
class TrendDecision:
    hashtag: str
    action: str
    reasons: tuple[str, ...]
    campaign_id: str | None = None
    score: float = 0.0
    window_posts: int = 0
    flagged_posts: int = 0
    exclude_posts: int = 0  # posts the trend service should drop before ranking (hijack)
    exclude_accounts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"hashtag": self.hashtag, "action": self.action, "reasons": list(self.reasons),
                               "window_posts": self.window_posts, "flagged_posts": self.flagged_posts}
        if self.campaign_id is not None:
            out["campaign_id"] = self.campaign_id
            out["score"] = round(self.score, 4)
        if self.exclude_posts:
            out["exclude_posts"] = self.exclude_posts
            out["exclude_accounts"] = list(self.exclude_accounts)
        return out


class TrendFilter:
    def __init__(self, engine: CampaignEngine | None = None, *, known: KnownHashtags | None = None,
                 suppress_share: float = 0.7) -> None:
        self.engine = engine
        if known is None:
            known = engine.known if engine is not None else KnownHashtags.load()
        self.known = known
        self.suppress_share = suppress_share

    def decide(self, candidate: TrendCandidate, at: float) -> TrendDecision:
        tag = normalize_hashtag(candidate.hashtag)
        if tag in self.known:
            return TrendDecision(tag, SUPPRESS, ("known extremist hashtag",), score=1.0)
        if self.engine is None:
            return TrendDecision(tag, ALLOW, ("no campaign state; only the known-hashtag list was checked",))
        v = self.engine.view(tag, at)
        camp = v.campaign
        if camp is not None and v.kind == BARRAGE:
            own = tuple(r for r in camp.reasons if r.startswith(f"#{tag}:")) or tuple(camp.reasons)
            return TrendDecision(tag, SUPPRESS, (f"coordinated extremist barrage {camp.id}", *own),
                                 camp.id, camp.score, v.posts, v.flagged, v.campaign_posts,
                                 tuple(sorted(camp.participants)))
        if camp is not None and v.kind == HIJACK:
            return TrendDecision(tag, ALLOW, (f"hijacked by campaign {camp.id}: drop its "
                                              f"{v.campaign_posts} of {v.posts} posts from the trend",),
                                 camp.id, camp.score, v.posts, v.flagged, v.campaign_posts,
                                 tuple(sorted(camp.participants)))
        cfg = self.engine.config
        if (v.posts and v.flagged >= cfg.min_flagged and v.flagged / v.posts >= self.suppress_share
                and not v.established):
            return TrendDecision(tag, SUPPRESS, (f"flagged posts {v.flagged} of {v.posts} in the window",
                                                 "no established organic use"),
                                 window_posts=v.posts, flagged_posts=v.flagged, score=v.flagged / v.posts)
        why = ("no extremist campaign", "established organic use") if v.established else (
            "no extremist campaign",)
        return TrendDecision(tag, ALLOW, why, window_posts=v.posts, flagged_posts=v.flagged)

    def filter(self, candidates: Sequence[TrendCandidate], at: float) -> list[TrendDecision]:
        return [self.decide(c, at) for c in candidates]
