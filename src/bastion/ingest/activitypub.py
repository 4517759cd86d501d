"""ActivityPub / ActivityStreams 2.0 (what Mastodon, Misskey, Pleroma and other fediverse servers exchange).

* ``Create`` / ``Update`` wrapping a ``Note``, ``Article``, ``Question`` or ``Page``, or such an object on its
  own -> a post (``content`` or ``contentMap``, after a ``summary`` content warning; ``tag`` Mentions and
  Hashtags; ``attachment`` media; ``inReplyTo``), written by ``attributedTo`` or the activity's ``actor``;
* ``Announce`` -> a repost of its ``object`` (the embedded object's text when it carries one);
* ``Flag`` -> a report on each reported object (a post IRI, or an actor when the list names only actors);
* ``Person``, ``Service``, ``Group``, ``Organization``, ``Application`` -> an account;
* ``OrderedCollection`` / ``OrderedCollectionPage`` / ``Collection`` (an outbox export) -> each item.

Ids are the objects' IRIs. Other activity types (``Follow``, ``Like``, ``Delete``, ...) carry no content to
judge: each is quarantined with a reason that says so, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from bastion.errors import RecordError
from bastion.ingest.base import MAX_TEXT_CHARS, as_str, extract_hashtags, extract_urls, opt_time
from bastion.ingest.social import JsonValuesReader, post_edges, strip_html
from bastion.records import (
    EMPTY,
    Account,
    AccountId,
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

OBJECTS = frozenset({"Note", "Article", "Question", "Page"})
ACTORS = frozenset({"Person", "Service", "Group", "Organization", "Application"})
COLLECTIONS = frozenset({"OrderedCollection", "OrderedCollectionPage", "Collection", "CollectionPage"})
ACTIVITIES = frozenset({"Create", "Update", "Announce", "Flag"})
#: Every type this reader understands (format detection keys on them).
TYPES = OBJECTS | ACTORS | COLLECTIONS | ACTIVITIES


def _type(obj: Mapping[str, Any]) -> str:
    t = obj.get("type")
    if isinstance(t, list):  # a type may be a list; the first known one counts
        t = next((x for x in t if x in TYPES), t[0] if t else "")
    return t if isinstance(t, str) else ""


def _iri(value: Any) -> str | None:
    """The IRI of a reference: a string, or an object's ``id`` (or ``href`` for links)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        v = value.get("id") or value.get("href")
        return v if isinstance(v, str) and v else None
    if isinstance(value, list) and value:
        return _iri(value[0])
    return None


def _req_iri(obj: Mapping[str, Any], key: str, rid: str | None = None) -> str:
    v = _iri(obj.get(key))
    if v is None:
        raise RecordError("missing", field=key, record_id=rid)
    return v


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _text(obj: Mapping[str, Any], rid: str) -> str:
    content = obj.get("content")
    if content is None and isinstance(obj.get("contentMap"), dict):
        content = next(iter(obj["contentMap"].values()), "")
    if content is None and isinstance(obj.get("name"), str):  # a poll vote, or a titled object without body
        content = obj["name"]
    body = strip_html(as_str(content or "", "content", rid, MAX_TEXT_CHARS * 4))
    summary = obj.get("summary")
    cw = strip_html(summary) if isinstance(summary, str) and _type(obj) in OBJECTS else ""
    text = f"{cw}\n\n{body}" if cw and body else cw or body
    return text[:MAX_TEXT_CHARS]


def _lang(obj: Mapping[str, Any]) -> str | None:
    cmap = obj.get("contentMap")
    return next(iter(cmap), None) if isinstance(cmap, dict) and cmap else None


def _media(obj: Mapping[str, Any]) -> tuple[Media, ...]:
    out = []
    for a in _list(obj.get("attachment")):
        if not isinstance(a, dict):
            continue
        url = _iri(a.get("url")) if not isinstance(a.get("url"), str) else a["url"]
        if not url:
            continue
        mt = str(a.get("mediaType") or "")
        kind = MediaKind.VIDEO if mt.startswith("video/") or _type(a) == "Video" else MediaKind.IMAGE
        out.append(Media(MediaId(url), kind, url=url))
    return tuple(out)


def actor_account(obj: Mapping[str, Any]) -> Account:
    aid = _req_iri(obj, "id")
    handle = obj.get("preferredUsername") or obj.get("name") or aid
    icon = obj.get("icon")
    avatar_url = _iri(icon.get("url")) if isinstance(icon, dict) and not isinstance(icon.get("url"), str) \
        else icon.get("url") if isinstance(icon, dict) else None
    return Account(
        id=AccountId(aid), handle=str(handle), display_name=str(obj.get("name") or ""),
        bio=strip_html(as_str(obj.get("summary") or "", "summary", aid, MAX_TEXT_CHARS * 4)),
        created_at=opt_time(obj, "published", aid),
        avatar=Media(MediaId(avatar_url), url=avatar_url) if avatar_url else None,
        source="activitypub", meta={"type": _type(obj)})


def object_records(obj: Mapping[str, Any], actor: Any = None, published: Any = None) -> list[Record]:
    """A Note-like object as a post (with its author's account when the author is embedded)."""
    pid = _req_iri(obj, "id")
    author_ref = obj.get("attributedTo") or actor
    author = _iri(author_ref)
    if author is None:
        raise RecordError("missing", field="attributedTo", record_id=pid)
    text = _text(obj, pid)
    tags = [t for t in _list(obj.get("tag")) if isinstance(t, dict)]
    mentions = [t for t in tags if _type(t) == "Mention"]
    hashtags = tuple(str(t.get("name", "")).lstrip("#") for t in tags if _type(t) == "Hashtag" and t.get("name"))
    reply = _iri(obj.get("inReplyTo"))
    post = Post(
        id=PostId(pid), account_id=AccountId(author), text=text,
        created_at=opt_time(obj, "published", pid) or published, lang=_lang(obj),
        hashtags=hashtags or extract_hashtags(text),
        mentions=tuple(str(m.get("name", "")).lstrip("@") for m in mentions), urls=extract_urls(text),
        media=_media(obj), reply_to=PostId(reply) if reply else None,
        quote_of=PostId(q) if (q := _iri(obj.get("quoteUrl") or obj.get("_misskey_quote"))) else None,
        source="activitypub", meta={"url": u} if isinstance(u := obj.get("url"), str) else EMPTY)
    out: list[Record] = []
    if isinstance(author_ref, dict) and _type(author_ref) in ACTORS:
        out.append(actor_account(author_ref))
    out.append(post)
    out.extend(post_edges(post, [h for m in mentions if (h := _iri(m))], None, None))
    return out


def _flag(act: Mapping[str, Any]) -> list[Record]:
    rid = _req_iri(act, "id")
    when = opt_time(act, "published", rid) or datetime.now(UTC)
    reporter = _iri(act.get("actor"))
    reason = strip_html(str(act.get("content") or ""))[:2000]
    targets = [t for t in (_iri(o) for o in _list(act.get("object"))) if t]
    if not targets:
        raise RecordError("missing", field="object", record_id=rid)
    # Mastodon lists the reported actor first, then the reported statuses: report the statuses when there are
    # any, else the actor(s).
    statuses = [t for o, t in zip(_list(act.get("object")), targets, strict=False)
                if not (isinstance(o, dict) and _type(o) in ACTORS)]
    posts = statuses[1:] if len(statuses) > 1 else []
    if posts:
        return [Report(ReportId(f"{rid}#{i}"), TargetKind.POST, t, ReporterKind.USER, when, reason, reporter)
                for i, t in enumerate(posts)]
    return [Report(ReportId(f"{rid}#{i}"), TargetKind.ACCOUNT, t, ReporterKind.USER, when, reason, reporter)
            for i, t in enumerate(targets[:1])]


def activity_records(value: Any) -> list[Record]:
    if not isinstance(value, dict):
        raise RecordError("expected an ActivityPub object")
    kind = _type(value)
    if kind in OBJECTS:
        return object_records(value)
    if kind in ACTORS:
        return [actor_account(value)]
    if kind in ("Create", "Update"):
        obj = value.get("object")
        if not isinstance(obj, dict):
            raise RecordError(f"a {kind} whose object is not embedded (a reference only) has no content to judge",
                              field="object", record_id=_iri(value))
        if _type(obj) not in OBJECTS:
            raise RecordError(f"unsupported {kind} object type {_type(obj)!r:.40}", field="object.type",
                              record_id=_iri(value))
        return object_records(obj, value.get("actor"), opt_time(value, "published"))
    if kind == "Announce":
        rid = _req_iri(value, "id")
        actor = _req_iri(value, "actor", rid)
        obj = value.get("object")
        target = _iri(obj)
        if target is None:
            raise RecordError("missing", field="object", record_id=rid)
        text = _text(obj, rid) if isinstance(obj, dict) else ""
        original_author = _iri(obj.get("attributedTo")) if isinstance(obj, dict) else None
        post = Post(id=PostId(rid), account_id=AccountId(actor), text=text,
                    created_at=opt_time(value, "published", rid), repost_of=PostId(target),
                    hashtags=extract_hashtags(text), urls=extract_urls(text), source="activitypub")
        return [post, *post_edges(post, [], None, original_author)]
    if kind == "Flag":
        return _flag(value)
    raise RecordError(f"ActivityPub {kind or 'object without a type'!s:.40} carries no post, account or report",
                      field="type", record_id=_iri(value))


class ActivityPubReader(JsonValuesReader):
    name = "activitypub"

    def sniff(self, path: Any, head: bytes) -> bool:
        return b"activitystreams" in head or (b'"type"' in head and b'"attributedTo"' in head)

    def units(self, value: Any) -> Iterator[Any]:
        if isinstance(value, list):
            yield from value
        elif isinstance(value, dict) and _type(value) in COLLECTIONS:
            yield from _list(value.get("orderedItems", value.get("items")))
        else:
            yield value

    def convert(self, value: Any) -> list[Record]:
        return activity_records(value)
