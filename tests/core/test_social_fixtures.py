"""Real payloads from public sources (tests/fixtures/social/README.md: tweepy's recorded Twitter responses, the
Mastodon documentation's examples) are read whole: format detection names each file's format from its
structure, every record in the file comes out as a post, account or report, and none is quarantined.
Then the cases those files do not show: long texts (full text wins), expansions, admin webhooks, ActivityPub
activities, and detection that does not depend on key order."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bastion.ingest import Quarantined, classify, detect_format, read
from bastion.records import Account, Post, Report, TargetKind

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "social"


def lines(name: str) -> list[Any]:
    text = (FIXTURES / name).read_text()
    return [json.loads(x) for x in text.splitlines() if x.strip()] if name.endswith(".jsonl") else [json.loads(text)]


def v1_statuses(name: str) -> int:
    return sum(len(v["statuses"]) if isinstance(v, dict) else len(v) for v in lines(name))


def v2_tweets(name: str) -> int:
    return sum(len(v["data"]) if isinstance(v["data"], list) else 1 for v in lines(name))


def kinds(items: list[Any]) -> Counter[str]:
    return Counter(type(i).__name__ for i in items)


CASES = [
    ("tweepy-v1-search-tweets.jsonl", "twitter_v1", lambda n: {"Post": v1_statuses(n)}),
    ("tweepy-v1-user-timeline.jsonl", "twitter_v1", lambda n: {"Post": v1_statuses(n)}),
    ("tweepy-v1-home-timeline.jsonl", "twitter_v1", lambda n: {"Post": v1_statuses(n)}),
    ("tweepy-v2-search-recent.jsonl", "twitter_v2", lambda n: {"Post": v2_tweets(n)}),
    ("tweepy-v2-get-tweets.jsonl", "twitter_v2", lambda n: {"Post": v2_tweets(n)}),
    ("tweepy-v2-get-tweet.jsonl", "twitter_v2", lambda n: {"Post": v2_tweets(n)}),
    ("tweepy-v2-home-timeline.jsonl", "twitter_v2", lambda n: {"Post": v2_tweets(n)}),
    ("mastodon-status.json", "mastodon", lambda n: {"Post": 1, "Account": 1}),
    ("mastodon-account.json", "mastodon", lambda n: {"Account": 1}),
    ("mastodon-admin-account.json", "mastodon", lambda n: {"Account": 1}),
    ("mastodon-report.json", "mastodon", lambda n: {"Report": len(lines(n)[0]["status_ids"])}),
    ("mastodon-webhook-report-created.json", "mastodon",
     lambda n: {"Report": len(lines(n)[0]["object"]["statuses"]), "Post": len(lines(n)[0]["object"]["statuses"])}),
    ("activitypub-mastodon-spec.jsonl", "activitypub", lambda n: {"Report": 2, "Post": 3, "Account": 1}),
]


@pytest.mark.parametrize(("name", "fmt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_public_fixture_is_read_whole(name: str, fmt: str, expected: Any) -> None:
    path = FIXTURES / name
    assert detect_format(path) == fmt
    items = list(read(path))
    assert [q.reason for q in items if isinstance(q, Quarantined)] == []
    got = kinds(items)
    for kind, n in expected(name).items():
        assert got[kind] == n, (kind, got)


def test_a_saved_timeline_of_two_pages_gives_every_status() -> None:
    """Before: one JSON array per line gave 4 of 24 posts with nothing quarantined."""
    items = list(read(FIXTURES / "tweepy-v1-user-timeline.jsonl"))
    assert kinds(items)["Post"] == 24 == v1_statuses("tweepy-v1-user-timeline.jsonl")


def test_v2_default_fields_give_each_unknown_author_an_account_of_its_own() -> None:
    posts = [i for i in read(FIXTURES / "tweepy-v2-get-tweets.jsonl") if isinstance(i, Post)]
    assert len({p.account_id for p in posts}) == len(posts)
    assert all(p.account_id == f"twitter_v2:unknown:{p.id}" for p in posts)


def write(tmp_path: Path, name: str, values: list[Any]) -> Path:
    f = tmp_path / name
    f.write_text("".join(json.dumps(v) + "\n" for v in values))
    return f


def test_long_texts_full_text_wins(tmp_path: Path) -> None:
    user = {"id_str": "1", "screen_name": "a"}
    long_rt = {"id_str": "10", "text": "RT @b: short…", "user": user, "retweeted_status": {
        "id_str": "9", "text": "short…", "truncated": True, "user": {"id_str": "2", "screen_name": "b"},
        "extended_tweet": {"full_text": "the whole original text"}}}
    f = write(tmp_path, "v1.jsonl", [long_rt])
    post = next(i for i in read(f) if isinstance(i, Post))
    assert post.text == "RT @b: the whole original text" and post.repost_of == "9"
    page = {"data": [
        {"id": "20", "text": "truncated note…", "author_id": "1", "note_tweet": {"text": "a long post in full"}},
        {"id": "21", "text": "RT @b: trunc…", "author_id": "1",
         "referenced_tweets": [{"type": "retweeted", "id": "19"}]},
        {"id": 22, "text": ["not", "text"], "author_id": "1"},
        {"id": "23", "text": "plain", "author_id": "2", "attachments": {"media_keys": ["3_1"]}}],
        "includes": {"users": [{"id": "1", "username": "a"}, {"id": "2", "username": "b"}],
                     "tweets": [{"id": "19", "text": "trunc…", "author_id": "2",
                                 "note_tweet": {"text": "the retweeted post in full"}}],
                     "media": [{"media_key": "3_1", "type": "photo", "url": "https://pbs.example/x.jpg"}]},
        "meta": {"result_count": 4, "next_token": "abc"}}
    items = list(read(write(tmp_path, "v2.json", [page])))
    posts = {p.id: p for p in items if isinstance(p, Post)}
    assert posts["20"].text == "a long post in full"
    assert posts["21"].text == "RT @b: the retweeted post in full" and posts["21"].repost_of == "19"
    assert posts["23"].media[0].url == "https://pbs.example/x.jpg"
    quarantined = [i for i in items if isinstance(i, Quarantined)]
    assert len(quarantined) == 1 and quarantined[0].field == "text"  # one bad tweet loses no other
    assert {a.handle for a in items if isinstance(a, Account)} == {"a", "b"}


def test_mastodon_content_warnings_and_admin_webhooks(tmp_path: Path) -> None:
    status = lines("mastodon-status.json")[0]
    warned = dict(status, id="w1", spoiler_text="content warning here")
    account = lines("mastodon-account.json")[0]
    admin_account = lines("mastodon-admin-account.json")[0]
    events = [{"event": "status.created", "created_at": "2024-01-01T00:00:00Z", "object": warned},
              {"event": "account.created", "created_at": "2024-01-01T00:00:00Z", "object": admin_account},
              {"event": "account.approved", "created_at": "2024-01-01T00:00:00Z", "object": admin_account},
              {"event": "report.created", "created_at": "2024-01-01T00:00:00Z",
               "object": lines("mastodon-webhook-report-created.json")[0]["object"]},
              {"event": "unknown.thing", "object": {}}, account]
    f = write(tmp_path, "hooks.jsonl", events)
    assert detect_format(f) == "mastodon"
    items = list(read(f))
    post = next(i for i in items if isinstance(i, Post) and i.id == "w1")
    assert post.text.startswith("content warning here\n\n") and "inheritance" in post.text
    accounts = [i for i in items if isinstance(i, Account)]
    assert admin_account["account"]["id"] in {a.id for a in accounts}
    assert any(isinstance(i, Report) and i.target_kind is TargetKind.POST for i in items)
    q = [i for i in items if isinstance(i, Quarantined)]
    assert len(q) == 1 and "unknown.thing" in q[0].reason


def test_activitypub_activities() -> None:
    items = list(read(FIXTURES / "activitypub-mastodon-spec.jsonl"))
    reports = [i for i in items if isinstance(i, Report)]
    assert [r.target_id for r in reports] == ["https://example.com/posts/380590", "https://example.com/posts/380591"]
    assert {r.reporter_id for r in reports} == {"https://mastodon.example/actor"}
    posts = {p.id: p for p in items if isinstance(p, Post)}
    assert posts["https://example.com/some-post"].hashtags == ("cats",)
    assert posts["https://mastodon.example/users/bob#votes/827163"].text == "orange"


def test_activitypub_announce_collection_and_unsupported_types(tmp_path: Path) -> None:
    note = {"type": "Note", "id": "https://ap.example/n/1", "attributedTo": {
        "type": "Person", "id": "https://ap.example/u/a", "preferredUsername": "a"},
        "summary": "cw", "content": "<p>hello <a href='https://ap.example/tags/x'>#x</a></p>",
        "attachment": [{"type": "Document", "mediaType": "image/png", "url": "https://ap.example/m/1.png"}],
        "inReplyTo": "https://ap.example/n/0"}
    outbox = {"@context": "https://www.w3.org/ns/activitystreams", "type": "OrderedCollectionPage",
              "orderedItems": [
                  {"type": "Create", "id": "https://ap.example/n/1/activity", "actor": "https://ap.example/u/a",
                   "object": note},
                  {"type": "Announce", "id": "https://ap.example/b/2", "actor": "https://ap.example/u/b",
                   "object": "https://ap.example/n/1"},
                  {"type": "Like", "id": "https://ap.example/l/3", "actor": "https://ap.example/u/b",
                   "object": "https://ap.example/n/1"}]}
    items = list(read(write(tmp_path, "outbox.json", [outbox])))
    posts = {p.id: p for p in items if isinstance(p, Post)}
    n = posts["https://ap.example/n/1"]
    assert n.text == "cw\n\nhello #x" and n.reply_to == "https://ap.example/n/0" and n.media[0].url.endswith("1.png")
    assert posts["https://ap.example/b/2"].repost_of == "https://ap.example/n/1"
    assert any(isinstance(a, Account) and a.handle == "a" for a in items)
    q = [i for i in items if isinstance(i, Quarantined)]
    assert len(q) == 1 and "Like" in q[0].reason


def test_detection_reads_structure_not_key_order(tmp_path: Path) -> None:
    """The keys a byte sniffer looks for sit beyond the first 8 KiB here; structure still says twitter_v1."""
    status = {"source": "x" * 9000, "full_text": "hello", "id_str": "1", "user": {"id_str": "2", "screen_name": "a"}}
    f = tmp_path / "late-keys.json"
    f.write_text(json.dumps(status, indent=2))
    assert detect_format(f) == "twitter_v1"
    assert [i.text for i in read(f) if isinstance(i, Post)] == ["hello"]
    assert classify({"statuses": []}) == "twitter_v1"
    assert classify({"meta": {"result_count": 0}}) == "twitter_v2"
    assert classify([{"type": "Note", "id": "x"}]) == "activitypub"
    assert classify({"something": "else"}) is None
