"""Schematic builders for the campaign tests: posts, authors and a stand-in propaganda detector.

Fixture text carries only the features the stage keys on (a marker token for the stand-in model, a
hashtag); none of it is real or persuasive content.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from bastion.campaigns.detector import CampaignDetector
from bastion.detector import Detector, PostContext
from bastion.records import Account, AccountId, Post, PostId
from bastion.signals import Signal

T0 = datetime(2016, 3, 1, 12, 0, tzinfo=UTC)
MARKER = "MARKERX"  # what the stand-in propaganda model "recognises"


class StandInPropaganda(Detector):
    """Stands in for ``bastion.text.propaganda.PropagandaDetector``: 0.95 if the marker is present, else 0.05."""

    name: ClassVar[str] = "propaganda"
    signals: ClassVar[tuple[str, ...]] = ("propaganda",)

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        return [(Signal("propaganda", 0.95 if MARKER in c.post.text else 0.05, self.name, "test"),)
                for c in batch]


def post(i: int, account: str, minutes: float, text: str, *tags: str) -> Post:
    body = f"{text} {' '.join('#' + t for t in tags)}".strip()
    return Post(id=PostId(f"p{i}"), account_id=AccountId(account), text=body,
                created_at=T0 + timedelta(minutes=minutes), hashtags=tags)


def author(account: str, bio: str = "") -> Account:
    return Account(id=AccountId(account), handle=account, bio=bio)


def run(detector: CampaignDetector, posts: Sequence[Post], *, upstream: Detector | None = None,
        authors: dict[str, Account] | None = None) -> list[Sequence[Signal]]:
    """Posts through the optional upstream detector and then the campaign stage, one batch per post."""
    out: list[Sequence[Signal]] = []
    for p in posts:
        ctx = PostContext(p, (authors or {}).get(str(p.account_id)))
        if upstream is not None:
            for sig in upstream.detect([ctx])[0]:
                ctx.signals[sig.name] = sig
        out.append(detector.detect([ctx])[0])
    return out


def organic(start: int, tag: str, n: int, minutes0: float, spacing: float = 0.5,
            prefix: str = "person") -> list[Post]:
    """``n`` posts by ``n`` different accounts on ``tag`` (the public reacting)."""
    return [post(start + k, f"{prefix}{k}", minutes0 + k * spacing, f"thoughts with everyone affected {k}", tag)
            for k in range(n)]


def barrage(start: int, tag: str, n: int, minutes0: float, accounts: int = 4, spacing: float = 0.5,
            extra_tags: tuple[str, ...] = ()) -> list[Post]:
    """``n`` marked posts from a handful of accounts on ``tag`` (a coordinated barrage)."""
    return [post(start + k, f"op{k % accounts}", minutes0 + k * spacing, f"{MARKER} item {k}", tag, *extra_tags)
            for k in range(n)]
