"""Readers for other platforms' JSON: Twitter API v1.1 statuses, Twitter API v2, Mastodon / ActivityPub.

Each status becomes its author's :class:`Account`, the :class:`Post`, and the interaction :class:`Edge`s it
implies (mentions, reply, repost). Files may hold one JSON value per line or one JSON array / object; either
way they are streamed, one value at a time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bastion.errors import RecordError
from bastion.ingest.base import (
    MAX_TEXT_CHARS,
    Item,
    as_str,
    extract_hashtags,
    extract_urls,
    opt_int,
    opt_str,
    opt_time,
    quarantine,
    req_str,
)
from bastion.ingest.stream import iter_json_values
from bastion.records import (
    EMPTY,
    Account,
    AccountId,
    Edge,
    EdgeKind,
    Media,
    MediaId,
    MediaKind,
    Post,
    PostId,
    Record,
)


def _edges(post: Post, mention_ids: list[str], reply_user: str | None, repost_user: str | None) -> list[Edge]:
    edges = [Edge(post.account_id, AccountId(m), EdgeKind.MENTION, post.created_at, post.id)
             for m in mention_ids]
    if reply_user:
        edges.append(Edge(post.account_id, AccountId(reply_user), EdgeKind.REPLY, post.created_at, post.id))
    if repost_user:
        edges.append(Edge(post.account_id, AccountId(repost_user), EdgeKind.REPOST, post.created_at, post.id))
    return edges


# -- Twitter API v1.1 ----------------------------------------------------------------------------------

def v1_user(user: Mapping[str, Any], source: str) -> Account:
    uid = req_str(user, "id_str") if user.get("id_str") else req_str(user, "id")
    return Account(
        id=AccountId(uid), handle=opt_str(user, "screen_name", uid) or uid,
        display_name=opt_str(user, "name", uid) or "", bio=opt_str(user, "description", uid) or "",
        location=opt_str(user, "location", uid) or "", created_at=opt_time(user, "created_at", uid),
        followers=opt_int(user, "followers_count", uid), following=opt_int(user, "friends_count", uid),
        statuses=opt_int(user, "statuses_count", uid), verified=bool(user.get("verified", False)),
        avatar=(Media(MediaId(str(user["profile_image_url_https"])), MediaKind.IMAGE,
                      url=str(user["profile_image_url_https"])) if user.get("profile_image_url_https") else None),
        source=source,
    )


def v1_records(status: Any) -> list[Record]:
    if not isinstance(status, dict):
        raise RecordError("expected a status object")
    sid = req_str(status, "id_str") if status.get("id_str") else req_str(status, "id")
    user = status.get("user")
    if not isinstance(user, dict):
        raise RecordError("missing", field="user", record_id=sid)
    account = v1_user(user, "twitter_v1")
    text_key = "full_text" if "full_text" in status else "text"
    ext = status.get("extended_tweet")
    if isinstance(ext, dict) and ext.get("full_text"):
        text = as_str(ext["full_text"], "extended_tweet.full_text", sid, MAX_TEXT_CHARS)
    else:
        text = as_str(status.get(text_key, ""), text_key, sid, MAX_TEXT_CHARS)
    ents = status.get("entities") or {}
    mentions = [m for m in ents.get("user_mentions", []) if isinstance(m, dict)]
    media_objs = (status.get("extended_entities") or ents).get("media", [])
    media = tuple(Media(MediaId(str(m.get("id_str") or m.get("media_url_https"))),
                        MediaKind.VIDEO if m.get("type") in ("video", "animated_gif") else MediaKind.IMAGE,
                        url=m.get("media_url_https")) for m in media_objs if isinstance(m, dict))
    rt = status.get("retweeted_status")
    rt_id = str(rt.get("id_str") or rt.get("id")) if isinstance(rt, dict) else None
    rt_user = str(rt["user"].get("id_str") or rt["user"].get("id")) if isinstance(rt, dict) and isinstance(
        rt.get("user"), dict) else None
    post = Post(
        id=PostId(sid), account_id=account.id, text=html.unescape(text),
        created_at=opt_time(status, "created_at", sid), lang=opt_str(status, "lang", sid),
        hashtags=tuple(h["text"] for h in ents.get("hashtags", []) if isinstance(h, dict) and "text" in h)
        or extract_hashtags(text),
        mentions=tuple(str(m.get("screen_name", "")) for m in mentions),
        urls=tuple(str(u.get("expanded_url") or u.get("url")) for u in ents.get("urls", []) if isinstance(u, dict)),
        media=media,
        reply_to=PostId(str(status["in_reply_to_status_id_str"])) if status.get("in_reply_to_status_id_str") else None,
        repost_of=PostId(rt_id) if rt_id else None,
        quote_of=PostId(str(status["quoted_status_id_str"])) if status.get("quoted_status_id_str") else None,
        source="twitter_v1",
    )
    edges = _edges(post, [str(m.get("id_str") or m.get("id")) for m in mentions if m.get("id_str") or m.get("id")],
                   status.get("in_reply_to_user_id_str"), rt_user)
    return [account, post, *edges]


# -- Twitter API v2 ------------------------------------------------------------------------------------

def v2_records(page: Any) -> list[Record]:
    if not isinstance(page, dict) or "data" not in page:
        raise RecordError("expected an object with 'data'", field="data")
    data = page["data"]
    tweets = data if isinstance(data, list) else [data]
    includes = page.get("includes") or {}
    users = {str(u.get("id")): u for u in includes.get("users", []) if isinstance(u, dict)}
    media_by_key = {str(m.get("media_key")): m for m in includes.get("media", []) if isinstance(m, dict)}
    records: list[Record] = []
    for uid, user in users.items():
        metrics = user.get("public_metrics") or {}
        records.append(Account(
            id=AccountId(uid), handle=opt_str(user, "username", uid) or uid,
            display_name=opt_str(user, "name", uid) or "", bio=opt_str(user, "description", uid) or "",
            location=opt_str(user, "location", uid) or "", created_at=opt_time(user, "created_at", uid),
            followers=opt_int(metrics, "followers_count", uid), following=opt_int(metrics, "following_count", uid),
            statuses=opt_int(metrics, "tweet_count", uid), verified=bool(user.get("verified", False)),
            source="twitter_v2"))
    for tw in tweets:
        if not isinstance(tw, dict):
            raise RecordError("expected a tweet object", field="data")
        tid = req_str(tw, "id")
        author = req_str(tw, "author_id", tid)
        text = as_str(tw.get("text", ""), "text", tid, MAX_TEXT_CHARS)
        refs = {r.get("type"): str(r.get("id")) for r in tw.get("referenced_tweets", []) if isinstance(r, dict)}
        ents = tw.get("entities") or {}
        keys = (tw.get("attachments") or {}).get("media_keys", [])
        media = tuple(Media(MediaId(str(k)), MediaKind.VIDEO if media_by_key.get(str(k), {}).get("type") in (
            "video", "animated_gif") else MediaKind.IMAGE, url=media_by_key.get(str(k), {}).get("url"))
            for k in keys)
        post = Post(
            id=PostId(tid), account_id=AccountId(author), text=text, created_at=opt_time(tw, "created_at", tid),
            lang=opt_str(tw, "lang", tid),
            hashtags=tuple(h.get("tag", "") for h in ents.get("hashtags", []) if isinstance(h, dict))
            or extract_hashtags(text),
            mentions=tuple(m.get("username", "") for m in ents.get("mentions", []) if isinstance(m, dict)),
            urls=tuple(str(u.get("expanded_url") or u.get("url")) for u in ents.get("urls", [])
                       if isinstance(u, dict)),
            media=media, reply_to=PostId(refs["replied_to"]) if "replied_to" in refs else None,
            repost_of=PostId(refs["retweeted"]) if "retweeted" in refs else None,
            quote_of=PostId(refs["quoted"]) if "quoted" in refs else None, source="twitter_v2")
        mention_ids = [str(m["id"]) for m in ents.get("mentions", []) if isinstance(m, dict) and m.get("id")]
        records.append(post)
        records.extend(_edges(post, mention_ids, tw.get("in_reply_to_user_id"), None))
    return records


# -- Mastodon / ActivityPub ----------------------------------------------------------------------------

_TAG_RE = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_STRIP_RE = re.compile(r"<[^>]+>")


def strip_html(content: str) -> str:
    return html.unescape(_STRIP_RE.sub("", _TAG_RE.sub("\n", content))).strip()


def mastodon_records(status: Any) -> list[Record]:
    if not isinstance(status, dict):
        raise RecordError("expected a status object")
    sid = req_str(status, "id")
    acct = status.get("account")
    if not isinstance(acct, dict):
        raise RecordError("missing", field="account", record_id=sid)
    aid = req_str(acct, "id", sid)
    account = Account(
        id=AccountId(aid), handle=opt_str(acct, "acct", aid) or opt_str(acct, "username", aid) or aid,
        display_name=opt_str(acct, "display_name", aid) or "",
        bio=strip_html(opt_str(acct, "note", aid) or ""), created_at=opt_time(acct, "created_at", aid),
        followers=opt_int(acct, "followers_count", aid), following=opt_int(acct, "following_count", aid),
        statuses=opt_int(acct, "statuses_count", aid),
        avatar=Media(MediaId(str(acct["avatar"])), url=str(acct["avatar"])) if acct.get("avatar") else None,
        source="mastodon")
    reblog = status.get("reblog")
    content = as_str(status.get("content", ""), "content", sid, MAX_TEXT_CHARS * 4)
    text = strip_html(content)
    if isinstance(reblog, dict) and not text:
        text = strip_html(str(reblog.get("content", "")))
    mentions = [m for m in status.get("mentions", []) if isinstance(m, dict)]
    post = Post(
        id=PostId(sid), account_id=account.id, text=text[:MAX_TEXT_CHARS],
        created_at=opt_time(status, "created_at", sid), lang=opt_str(status, "language", sid),
        hashtags=tuple(str(t.get("name")) for t in status.get("tags", []) if isinstance(t, dict))
        or extract_hashtags(text),
        mentions=tuple(str(m.get("acct", "")) for m in mentions), urls=extract_urls(text),
        media=tuple(Media(MediaId(str(m.get("id"))), MediaKind.VIDEO if m.get("type") in ("video", "gifv")
                          else MediaKind.IMAGE, url=m.get("url"))
                    for m in status.get("media_attachments", []) if isinstance(m, dict)),
        reply_to=PostId(str(status["in_reply_to_id"])) if status.get("in_reply_to_id") else None,
        repost_of=PostId(str(reblog.get("id"))) if isinstance(reblog, dict) else None,
        source="mastodon", meta={"uri": status["uri"]} if status.get("uri") else EMPTY)
    reblog_user = (str(reblog["account"].get("id")) if isinstance(reblog, dict)
                   and isinstance(reblog.get("account"), dict) else None)
    edges = _edges(post, [str(m["id"]) for m in mentions if m.get("id")],
                   str(status["in_reply_to_account_id"]) if status.get("in_reply_to_account_id") else None,
                   reblog_user)
    return [account, post, *edges]


class _JsonValuesReader:
    name = ""

    def convert(self, value: Any) -> list[Record]:
        raise NotImplementedError

    def read(self, path: Path) -> Iterator[Item]:
        for line, value, error in iter_json_values(path):
            if error is not None:
                yield quarantine(path, line, error)
                continue
            try:
                yield from self.convert(value)
            except Exception as exc:
                yield quarantine(path, line, exc, _preview(value))


def _preview(value: Any) -> str:
    return repr(value)[:500]


class TwitterV1Reader(_JsonValuesReader):
    name = "twitter_v1"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"user"' in head and (b'"text"' in head or b'"full_text"' in head) and b'"id_str"' in head

    def convert(self, value: Any) -> list[Record]:
        return v1_records(value)


class TwitterV2Reader(_JsonValuesReader):
    name = "twitter_v2"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.lstrip().startswith(b"{") and b'"data"' in head and b'"author_id"' in head

    def convert(self, value: Any) -> list[Record]:
        return v2_records(value)


class MastodonReader(_JsonValuesReader):
    name = "mastodon"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"account"' in head and b'"content"' in head and (b'"uri"' in head or b'"acct"' in head)

    def convert(self, value: Any) -> list[Record]:
        return mastodon_records(value)
