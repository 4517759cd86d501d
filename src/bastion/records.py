"""Typed, immutable records that flow between Bastion's stages.

Everything a reader produces and a detector consumes is one of these frozen, slotted dataclasses. They carry
no behaviour beyond small conveniences, hold only timezone-aware datetimes, and are cheap to build (the
ingest path creates tens of thousands per second).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

PostId = NewType("PostId", str)
AccountId = NewType("AccountId", str)
MediaId = NewType("MediaId", str)
ReportId = NewType("ReportId", str)

class _Empty(Mapping[str, Any]):
    """A read-only empty mapping that pickles as itself (records cross process boundaries: workers, Spark)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return empty, ()


EMPTY: Mapping[str, Any] = _Empty()


def empty() -> Mapping[str, Any]:
    """The shared empty, read-only mapping (a dataclass default that costs no allocation)."""
    return EMPTY


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class EdgeKind(StrEnum):
    FOLLOW = "follow"
    MENTION = "mention"
    REPOST = "repost"
    REPLY = "reply"


class ReporterKind(StrEnum):
    USER = "user"
    TRUSTED_FLAGGER = "trusted_flagger"
    AUTHORITY = "authority"  # e.g. a removal order under the EU terrorist-content regulation (TCO)


class TargetKind(StrEnum):
    POST = "post"
    ACCOUNT = "account"


class EnforcementKind(StrEnum):
    SUSPEND = "suspend"
    REMOVE = "remove"
    REINSTATE = "reinstate"


@dataclass(frozen=True, slots=True)
class Media:
    """An image or video attached to a post or used as an avatar.

    ``path`` is a local file readable by the media hashers; ``url`` is informational. Pre-computed hashes
    (``pdq``, ``md5``) may be supplied by the platform and are then trusted as-is.
    """

    id: MediaId
    kind: MediaKind = MediaKind.IMAGE
    url: str | None = None
    path: str | None = None
    md5: str | None = None
    sha256: str | None = None
    pdq: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    id: PostId
    account_id: AccountId
    text: str
    created_at: datetime | None = None
    lang: str | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    reply_to: PostId | None = None
    repost_of: PostId | None = None
    quote_of: PostId | None = None
    source: str = "native"
    meta: Mapping[str, Any] = field(default_factory=empty)

    def content_digest(self) -> str:
        """What the post says, as a digest: author, text and media (by content hash where known). A post id
        submitted again with other content is another version of the post, with its own decisions."""
        return content_digest(self.account_id, self.text, (m.sha256 or m.md5 or m.pdq or m.id for m in self.media))


def content_digest(account_id: str, text: str, media: Iterable[str]) -> str:
    """:meth:`Post.content_digest` from its parts (``media``: each item's content hash, else its id)."""
    key = "\x1f".join((account_id, text, *media))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Account:
    """A platform account. ``identifiers`` are hashed device / IP / e-mail identifiers, when supplied."""

    id: AccountId
    handle: str
    display_name: str = ""
    bio: str = ""
    location: str = ""
    created_at: datetime | None = None
    followers: int | None = None
    following: int | None = None
    statuses: int | None = None
    verified: bool = False
    avatar: Media | None = None
    links: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    updated_at: datetime | None = None
    source: str = "native"
    meta: Mapping[str, Any] = field(default_factory=empty)


@dataclass(frozen=True, slots=True)
class Edge:
    src: AccountId
    dst: AccountId
    kind: EdgeKind
    created_at: datetime | None = None
    post_id: PostId | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A report about a post or account. An authority's removal order carries a ``deadline``."""

    id: ReportId
    target_kind: TargetKind
    target_id: str
    reporter_kind: ReporterKind
    created_at: datetime
    reason: str = ""
    reporter_id: str | None = None
    deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class EnforcementEvent:
    """A suspension or removal decided elsewhere (or earlier), used to seed history."""

    id: str
    kind: EnforcementKind
    target_kind: TargetKind
    target_id: str
    created_at: datetime
    reason: str = ""
    source: str = "platform"


Record = Post | Account | Edge | Report | EnforcementEvent
