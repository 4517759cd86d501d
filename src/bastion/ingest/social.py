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
    Report,
    ReporterKind,
    ReportId,
    TargetKind,
)


def post_edges(post: Post, mention_ids: list[str], reply_user: str | None, repost_user: str | None) -> list[Edge]:
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


def v1_text(status: Mapping[str, Any], sid: str) -> str:
    """A v1.1 status's whole text: ``extended_tweet.full_text`` (streaming, compat mode), ``full_text``
    (``tweet_mode=extended``), else ``text``."""
    ext = status.get("extended_tweet")
    if isinstance(ext, dict) and ext.get("full_text"):
        return as_str(ext["full_text"], "extended_tweet.full_text", sid, MAX_TEXT_CHARS)
    key = "full_text" if "full_text" in status else "text"
    return as_str(status.get(key, ""), key, sid, MAX_TEXT_CHARS)


def v1_statuses(value: Any) -> Iterator[Any]:
    """The statuses of a v1.1 value: a status, a list of them (a saved ``user_timeline`` page), or the
    search API's ``{"statuses": [...], "search_metadata": ...}``."""
    if isinstance(value, dict) and isinstance(value.get("statuses"), list):
        yield from value["statuses"]
    elif isinstance(value, list):
        yield from value
    else:
        yield value


def v1_records(status: Any) -> list[Record]:
    if not isinstance(status, dict):
        raise RecordError("expected a status object")
    sid = req_str(status, "id_str") if status.get("id_str") else req_str(status, "id")
    user = status.get("user")
    if not isinstance(user, dict):
        raise RecordError("missing", field="user", record_id=sid)
    account = v1_user(user, "twitter_v1")
    text = v1_text(status, sid)
    rt = status.get("retweeted_status")
    if isinstance(rt, dict):  # a retweet's own text is truncated ("RT @a: ..."): the original's full text wins
        rt_user = rt.get("user") if isinstance(rt.get("user"), dict) else {}
        handle = opt_str(rt_user, "screen_name", sid) if rt_user else None
        full = v1_text(rt, sid)
        if full:
            text = f"RT @{handle}: {full}" if handle else full
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
    edges = post_edges(post, [str(m.get("id_str") or m.get("id")) for m in mentions if m.get("id_str") or m.get("id")],
                   status.get("in_reply_to_user_id_str"), rt_user)
    return [account, post, *edges]


# -- Twitter API v2 ------------------------------------------------------------------------------------

def v2_page(page: Any) -> tuple[list[Any], dict[str, Any]]:
    """A v2 response's tweets and its expansions. ``data`` is one tweet or a list; ``includes`` holds the
    expanded ``users``, ``media`` and ``tweets``; ``meta`` (``next_token``, counts) is not content. A page
    with no ``data`` (``result_count`` 0) holds no tweets."""
    if not isinstance(page, dict):
        raise RecordError("expected a response object with 'data'", field="data")
    data = page.get("data")
    if data is None:
        if "meta" in page or "errors" in page:
            return [], {}
        if "id" in page and "text" in page:  # a bare tweet (JSON Lines of tweets)
            return [page], {}
        raise RecordError("expected an object with 'data'", field="data")
    tweets = data if isinstance(data, list) else [data]
    inc = page.get("includes")
    return tweets, inc if isinstance(inc, dict) else {}


def v2_accounts(includes: Mapping[str, Any]) -> list[Record]:
    records: list[Record] = []
    for user in includes.get("users", []):
        if not isinstance(user, dict):
            continue
        uid = req_str(user, "id")
        metrics = user.get("public_metrics") or {}
        records.append(Account(
            id=AccountId(uid), handle=opt_str(user, "username", uid) or uid,
            display_name=opt_str(user, "name", uid) or "", bio=opt_str(user, "description", uid) or "",
            location=opt_str(user, "location", uid) or "", created_at=opt_time(user, "created_at", uid),
            followers=opt_int(metrics, "followers_count", uid), following=opt_int(metrics, "following_count", uid),
            statuses=opt_int(metrics, "tweet_count", uid), verified=bool(user.get("verified", False)),
            source="twitter_v2"))
    return records


def _v2_text(tw: Mapping[str, Any], tid: str) -> tuple[str, Mapping[str, Any]]:
    """A tweet's whole text and its entities: a long post's ``note_tweet`` wins over the truncated ``text``."""
    note = tw.get("note_tweet")
    if isinstance(note, dict) and note.get("text"):
        return as_str(note["text"], "note_tweet.text", tid, MAX_TEXT_CHARS), note.get("entities") or {}
    return as_str(tw.get("text", ""), "text", tid, MAX_TEXT_CHARS), tw.get("entities") or {}


def v2_records(tw: Any, includes: Mapping[str, Any] | None = None) -> list[Record]:
    """One v2 tweet with its page's expansions. Without ``author_id`` (the API's default fields) the author is
    unknown: the post gets an account id of its own (``twitter_v2:unknown:<tweet id>``), so posts of unknown
    authors are never pooled into one account."""
    if not isinstance(tw, dict):
        raise RecordError("expected a tweet object", field="data")
    inc = includes or {}
    users = {str(u.get("id")): u for u in inc.get("users", []) if isinstance(u, dict)}
    media_by_key = {str(m.get("media_key")): m for m in inc.get("media", []) if isinstance(m, dict)}
    tweets = {str(t.get("id")): t for t in inc.get("tweets", []) if isinstance(t, dict)}
    tid = req_str(tw, "id")
    author = opt_str(tw, "author_id", tid) or f"twitter_v2:unknown:{tid}"
    text, ents = _v2_text(tw, tid)
    refs = {r.get("type"): str(r.get("id")) for r in tw.get("referenced_tweets", []) if isinstance(r, dict)}
    original = tweets.get(refs.get("retweeted", ""))
    if original is not None:  # a retweet's text is truncated: the expanded original's full text wins
        full, _ = _v2_text(original, tid)
        handle = users.get(str(original.get("author_id")), {}).get("username")
        text = f"RT @{handle}: {full}" if handle else full
    keys = (tw.get("attachments") or {}).get("media_keys", [])
    media = tuple(Media(MediaId(str(k)), MediaKind.VIDEO if media_by_key.get(str(k), {}).get("type") in (
        "video", "animated_gif") else MediaKind.IMAGE,
        url=media_by_key.get(str(k), {}).get("url") or media_by_key.get(str(k), {}).get("preview_image_url"))
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
    repost_user = str(original["author_id"]) if original is not None and original.get("author_id") else None
    return [post, *post_edges(post, mention_ids, tw.get("in_reply_to_user_id"), repost_user)]


# -- Mastodon / ActivityPub ----------------------------------------------------------------------------

_TAG_RE = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_STRIP_RE = re.compile(r"<[^>]+>")


def strip_html(content: str) -> str:
    return html.unescape(_STRIP_RE.sub("", _TAG_RE.sub("\n", content))).strip()


def mastodon_account(acct: Mapping[str, Any], rid: str | None = None) -> Account:
    """A Mastodon ``Account`` entity."""
    aid = req_str(acct, "id", rid)
    return Account(
        id=AccountId(aid), handle=opt_str(acct, "acct", aid) or opt_str(acct, "username", aid) or aid,
        display_name=opt_str(acct, "display_name", aid) or "",
        bio=strip_html(opt_str(acct, "note", aid, MAX_TEXT_CHARS * 4) or ""),
        created_at=opt_time(acct, "created_at", aid),
        followers=opt_int(acct, "followers_count", aid), following=opt_int(acct, "following_count", aid),
        statuses=opt_int(acct, "statuses_count", aid), verified=bool(acct.get("verified", False)),
        avatar=Media(MediaId(str(acct["avatar"])), url=str(acct["avatar"])) if acct.get("avatar") else None,
        source="mastodon")


def _status_text(status: Mapping[str, Any], sid: str) -> str:
    """The text a reader sees: the content warning (``spoiler_text``) and then the content."""
    content = strip_html(as_str(status.get("content", ""), "content", sid, MAX_TEXT_CHARS * 4))
    spoiler = opt_str(status, "spoiler_text", sid) or ""
    return f"{spoiler}\n\n{content}" if spoiler and content else spoiler or content


def mastodon_records(status: Any) -> list[Record]:
    if not isinstance(status, dict):
        raise RecordError("expected a status object")
    sid = req_str(status, "id")
    acct = status.get("account")
    if not isinstance(acct, dict):
        raise RecordError("missing", field="account", record_id=sid)
    account = mastodon_account(acct, sid)
    reblog = status.get("reblog")
    text = _status_text(status, sid)
    if isinstance(reblog, dict) and not text:
        text = _status_text(reblog, sid)
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
    edges = post_edges(post, [str(m["id"]) for m in mentions if m.get("id")],
                   str(status["in_reply_to_account_id"]) if status.get("in_reply_to_account_id") else None,
                   reblog_user)
    return [account, post, *edges]


def mastodon_report(report: Mapping[str, Any], created: Any = None) -> list[Record]:
    """A Mastodon ``Report`` (or ``Admin::Report``): one report per reported status, or one on the account
    when it names no status; reported statuses the admin API includes are read as posts too."""
    rid = req_str(report, "id")
    target = report.get("target_account")
    if not isinstance(target, dict):
        raise RecordError("missing", field="target_account", record_id=rid)
    nested = target.get("account")
    inner: Mapping[str, Any] = nested if isinstance(nested, dict) else target  # Admin::Account wraps it
    target_id = req_str(inner, "id", rid)
    reporter = report.get("account")
    reporter_id = None
    if isinstance(reporter, dict):
        reporter_id = str((reporter.get("account") or reporter).get("id") or "") or None
    when = opt_time(report, "created_at", rid) or created
    if when is None:
        raise RecordError("missing", field="created_at", record_id=rid)
    reason = " - ".join(x for x in (opt_str(report, "category", rid), opt_str(report, "comment", rid)) if x)
    statuses = [st for st in report.get("statuses", []) if isinstance(st, dict)]
    ids = [str(i) for i in report.get("status_ids") or []] or [str(st.get("id")) for st in statuses]
    out: list[Record] = []
    for st in statuses:
        out.extend(mastodon_records(st))
    if ids:
        out.extend(Report(ReportId(f"mastodon:{rid}:{i}"), TargetKind.POST, i, ReporterKind.USER, when, reason,
                          reporter_id) for i in ids)
    else:
        out.append(Report(ReportId(f"mastodon:{rid}"), TargetKind.ACCOUNT, target_id, ReporterKind.USER, when,
                          reason, reporter_id))
    return out


def mastodon_value(value: Any) -> list[Record]:
    """Any Mastodon entity or admin webhook: a ``Status``, an ``Account``, a ``Report``, or an event envelope
    ``{"event": "status.created" | "report.created" | "account.created" | ..., "object": ...}``."""
    if not isinstance(value, dict):
        raise RecordError("expected a Mastodon object")
    event = value.get("event")
    if isinstance(event, str) and "object" in value:
        obj = value["object"]
        if not isinstance(obj, dict):
            raise RecordError("expected an object", field="object")
        kind = event.split(".", 1)[0]
        if kind == "status":
            return mastodon_records(obj)
        if kind == "report":
            return mastodon_report(obj, opt_time(value, "created_at"))
        if kind == "account":
            inner = obj.get("account")
            return [mastodon_account(inner if isinstance(inner, dict) else obj)]
        raise RecordError(f"unsupported Mastodon event {event!r:.60}", field="event")
    if "content" in value or ("account" in value and "uri" in value):
        return mastodon_records(value)
    if "target_account" in value:
        return mastodon_report(value)
    if "acct" in value or "username" in value:
        return [mastodon_account(value)]
    raise RecordError("not a Mastodon Status, Account, Report or admin event")


class JsonValuesReader:
    name = ""

    def units(self, value: Any) -> Iterator[Any]:
        """The records a JSON value holds (a wrapper or a page holds several)."""
        yield value

    def convert(self, value: Any) -> list[Record]:
        raise NotImplementedError

    def read(self, path: Path) -> Iterator[Item]:
        """Every unit is converted or quarantined on its own: one bad status in a page loses no other."""
        for line, value, error in iter_json_values(path):
            if error is not None:
                yield quarantine(path, line, error)
                continue
            try:
                units = list(self.units(value))
            except Exception as exc:
                yield quarantine(path, line, exc, _preview(value))
                continue
            for unit in units:
                try:
                    yield from self.convert(unit)
                except Exception as exc:
                    yield quarantine(path, line, exc, _preview(unit))


def _preview(value: Any) -> str:
    return repr(value)[:500]


class TwitterV1Reader(JsonValuesReader):
    name = "twitter_v1"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"user"' in head and (b'"text"' in head or b'"full_text"' in head) and b'"id_str"' in head

    def units(self, value: Any) -> Iterator[Any]:
        return v1_statuses(value)

    def convert(self, value: Any) -> list[Record]:
        return v1_records(value)


class TwitterV2Reader(JsonValuesReader):
    name = "twitter_v2"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.lstrip().startswith(b"{") and b'"data"' in head and b'"author_id"' in head

    def units(self, value: Any) -> Iterator[Any]:
        tweets, includes = v2_page(value)
        if includes.get("users"):
            yield ("accounts", includes)
        for tw in tweets:
            yield ("tweet", tw, includes)

    def convert(self, value: Any) -> list[Record]:
        if value[0] == "accounts":
            return v2_accounts(value[1])
        return v2_records(value[1], value[2])


class MastodonReader(JsonValuesReader):
    name = "mastodon"

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"account"' in head and b'"content"' in head and (b'"uri"' in head or b'"acct"' in head)

    def units(self, value: Any) -> Iterator[Any]:
        yield from value if isinstance(value, list) else [value]

    def convert(self, value: Any) -> list[Record]:
        return mastodon_value(value)
