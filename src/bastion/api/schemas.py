"""Request bodies of the API (pydantic lives here, at the edge). Records mirror Bastion's native JSONL
format (``docs/formats.md``); after this first check each becomes a record through the same code the
file readers use, so a post is the same post whether it came by file or by API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bastion.review.model import AppealOutcome, Outcome

Id = Field(min_length=1, max_length=200)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MediaIn(_In):
    id: str | None = Field(None, max_length=200)
    kind: Literal["image", "video"] = "image"
    url: str | None = Field(None, max_length=2000)
    path: str | None = Field(None, max_length=2000, description="A file under the server's media root only.")
    md5: str | None = Field(None, max_length=64)
    sha256: str | None = Field(None, max_length=64)
    pdq: str | None = Field(None, max_length=64)


class PostIn(_In):
    id: str = Id
    account_id: str = Id
    text: str = Field(max_length=25_000)
    created_at: datetime | None = None
    lang: str | None = Field(None, max_length=16)
    hashtags: list[str] | None = Field(None, max_length=100)
    mentions: list[str] | None = Field(None, max_length=100)
    urls: list[str] | None = Field(None, max_length=100)
    media: list[MediaIn] = Field(default_factory=list, max_length=20)
    reply_to: str | None = Field(None, max_length=200)
    repost_of: str | None = Field(None, max_length=200)
    quote_of: str | None = Field(None, max_length=200)
    meta: dict[str, Any] | None = None


class AccountIn(_In):
    id: str = Id
    handle: str | None = Field(None, max_length=200)
    display_name: str | None = Field(None, max_length=5000)
    bio: str | None = Field(None, max_length=5000)
    location: str | None = Field(None, max_length=5000)
    created_at: datetime | None = None
    followers: int | None = None
    following: int | None = None
    statuses: int | None = None
    verified: bool = False
    avatar: MediaIn | None = None
    links: list[str] | None = Field(None, max_length=50)
    identifiers: list[str] | None = Field(None, max_length=50, description="Hashed device / IP / e-mail ids.")
    updated_at: datetime | None = None
    meta: dict[str, Any] | None = None


class EdgeIn(_In):
    src: str = Id
    dst: str = Id
    kind: Literal["follow", "mention", "repost", "reply"]
    created_at: datetime | None = None
    post_id: str | None = Field(None, max_length=200)


class ReportIn(_In):
    id: str = Id
    target_kind: Literal["post", "account"] = "post"
    target_id: str = Id
    reporter_kind: Literal["user", "trusted_flagger", "authority"]
    created_at: datetime
    reason: str | None = Field(None, max_length=5000)
    reporter_id: str | None = Field(None, max_length=200)
    deadline: datetime | None = Field(None, description="An authority's removal order defaults to one hour.")


class EnforcementIn(_In):
    id: str = Id
    kind: Literal["suspend", "remove", "reinstate"]
    target_kind: Literal["post", "account"] = "account"
    target_id: str = Id
    created_at: datetime
    reason: str | None = Field(None, max_length=5000)
    source: str | None = Field(None, max_length=64)


class BatchIn(_In):
    items: list[Any] = Field(min_length=1, description="Records of one kind (objects), at most max_batch.")


class DecisionIn(_In):
    outcome: Outcome
    notes: str | None = Field(None, max_length=5000)


class BulkIn(_In):
    queue: str = Field(min_length=1, max_length=64)
    hashtag: str = Field(min_length=1, max_length=200)
    outcome: Outcome
    notes: str | None = Field(None, max_length=5000)


class AppealIn(_In):
    decision_id: str | None = Field(None, max_length=64)
    target_kind: Literal["post", "account"] | None = None
    target_id: str | None = Field(None, max_length=200)
    appellant_id: str | None = Field(None, max_length=200)
    reason: str = Field(min_length=1, max_length=5000)


class AppealDecisionIn(_In):
    outcome: AppealOutcome
    notes: str | None = Field(None, max_length=5000)


class KeyIn(_In):
    role: Literal["integrator", "reviewer", "security", "admin"]
    name: str | None = Field(None, max_length=100)
    person: str | None = Field(None, max_length=100)


class BankIn(_In):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Z0-9_]+$")
    matching_enabled_ratio: float = Field(1.0, ge=0.0, le=1.0)
