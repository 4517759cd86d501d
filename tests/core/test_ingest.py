"""Readers: every supported format, quarantine of every kind of bad record, nothing valid lost."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from bastion.ingest import Quarantined, detect_format, read
from bastion.ingest.stream import iter_json_values
from bastion.records import Account, Edge, EdgeKind, EnforcementEvent, Post, Report, ReporterKind


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_native_all_record_types(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "in.jsonl", [
        {"type": "account", "id": "a1", "handle": "anna", "created_at": "2015-01-01T00:00:00Z"},
        {"type": "post", "id": "p1", "account_id": "a1", "text": "hello #World @bob https://x.y/z",
         "created_at": "2015-01-02T00:00:00Z", "media": [{"id": "m1", "kind": "video", "path": "v.mp4"}]},
        {"type": "edge", "src": "a1", "dst": "a2", "kind": "follow"},
        {"type": "report", "id": "r1", "target_id": "p1", "reporter_kind": "authority",
         "created_at": "2015-01-02T01:00:00Z"},
        {"type": "enforcement", "id": "e1", "kind": "suspend", "target_id": "a9",
         "created_at": "2015-01-03T00:00:00Z"},
    ])
    assert detect_format(f) == "native"
    items = list(read(f))
    assert [type(i) for i in items] == [Account, Post, Edge, Report, EnforcementEvent]
    post = items[1]
    assert isinstance(post, Post)
    assert post.hashtags == ("World",) and post.mentions == ("bob",) and post.urls == ("https://x.y/z",)
    assert post.media[0].kind.value == "video"
    assert post.created_at is not None and post.created_at.tzinfo is not None
    report = items[3]
    assert isinstance(report, Report) and report.reporter_kind == ReporterKind.AUTHORITY
    # an authority's removal order gets the one-hour TCO deadline when none is given
    assert report.deadline is not None and (report.deadline - report.created_at).total_seconds() == 3600
    assert isinstance(items[2], Edge) and items[2].kind == EdgeKind.FOLLOW


BAD_LINES: list[tuple[bytes, str, str | None]] = [
    (b"{not json", "bad JSON", None),
    (b'{"type": "post", "account_id": "a", "text": "x"}', "missing", "id"),
    (b'{"type": "post", "id": "p", "text": "x"}', "missing", "account_id"),
    (b'{"type": "post", "id": 5.5, "account_id": "a", "text": "x"}', "expected a string", "id"),
    (b'{"type": "post", "id": "p", "account_id": "a", "text": ["x"]}', "expected a string", "text"),
    (b'{"type": "post", "id": "p", "account_id": "a", "text": "\xff\xfe"}', "invalid UTF-8", None),
    (b'{"type": "post", "id": "p", "account_id": "a", "text": "' + b"x" * 30_000 + b'"}', "exceeds", "text"),
    (b'{"type": "post", "id": "p", "account_id": "a", "text": "x", "created_at": "1970-01-01T00:00:00Z"}',
     "impossible timestamp", "created_at"),
    (b'{"type": "post", "id": "p", "account_id": "a", "text": "x", "created_at": "2999-01-01T00:00:00Z"}',
     "impossible timestamp", "created_at"),
    (b'{"type": "post", "id": "p", "account_id": "a", "text": "x", "created_at": "yesterday"}',
     "unreadable timestamp", "created_at"),
    (b'{"type": "widget", "id": "w"}', "unknown type", "type"),
    (b'[1, 2, 3]', "expected a JSON object", None),
    (b'{"type": "edge", "src": "a", "dst": "b", "kind": "likes"}', "is not one of", "kind"),
    (b'{"type": "account", "id": "a", "followers": "many"}', "expected an integer", "followers"),
]


@pytest.mark.parametrize(("line", "reason", "field"), BAD_LINES)
def test_each_malformed_record_is_quarantined_with_reason(tmp_path: Path, line: bytes, reason: str,
                                                          field: str | None) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_bytes(b'{"type": "post", "id": "ok1", "account_id": "a", "text": "fine"}\n' + line + b"\n"
                  + b'{"type": "post", "id": "ok2", "account_id": "a", "text": "fine too"}\n')
    items = list(read(f, "native"))
    assert [i.id for i in items if isinstance(i, Post)] == ["ok1", "ok2"]
    (q,) = [i for i in items if isinstance(i, Quarantined)]
    assert q.line == 2 and q.file == str(f)
    assert reason in q.reason
    assert q.field == field


def test_ten_percent_malformed_mixed_stream_loses_no_valid_record(tmp_path: Path) -> None:
    rng = random.Random(42)
    lines: list[bytes] = []
    valid_ids = []
    for i in range(2000):
        if rng.random() < 0.1:
            lines.append(rng.choice(BAD_LINES)[0])
        else:
            valid_ids.append(f"p{i}")
            lines.append(json.dumps({"type": "post", "id": f"p{i}", "account_id": "a", "text": f"post {i}"}).encode())
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    items = list(read(f))
    assert [i.id for i in items if isinstance(i, Post)] == valid_ids
    assert sum(isinstance(i, Quarantined) for i in items) == 2000 - len(valid_ids)


def test_twitter_v1_statuses_json_array(tmp_path: Path) -> None:
    status = {
        "id_str": "100", "created_at": "Wed Sep 10 12:00:00 +0000 2014", "full_text": "hi @bob &amp; #tag",
        "lang": "en", "in_reply_to_status_id_str": "99", "in_reply_to_user_id_str": "7",
        "user": {"id_str": "1", "screen_name": "alice", "name": "Alice", "description": "bio",
                 "followers_count": 3, "created_at": "Mon Jan 06 10:00:00 +0000 2014"},
        "entities": {"hashtags": [{"text": "tag"}], "user_mentions": [{"id_str": "2", "screen_name": "bob"}],
                     "urls": []},
    }
    f = tmp_path / "v1.json"
    f.write_text(json.dumps([status, {"id_str": "101"}]))
    assert detect_format(f) == "twitter_v1"
    items = list(read(f))
    acct, post = items[0], items[1]
    assert isinstance(acct, Account) and acct.handle == "alice" and acct.followers == 3
    assert isinstance(post, Post) and post.text == "hi @bob & #tag" and post.reply_to == "99"
    kinds = sorted(e.kind.value for e in items if isinstance(e, Edge))
    assert kinds == ["mention", "reply"]
    assert isinstance(items[-1], Quarantined) and items[-1].field == "user"


def test_twitter_v2_page(tmp_path: Path) -> None:
    page = {"data": [{"id": "5", "author_id": "9", "text": "hello world", "created_at": "2022-01-01T00:00:00Z",
                      "referenced_tweets": [{"type": "retweeted", "id": "4"}]}],
            "includes": {"users": [{"id": "9", "username": "zed", "name": "Zed",
                                    "public_metrics": {"followers_count": 10}}]}}
    f = tmp_path / "v2.jsonl"
    f.write_text(json.dumps(page) + "\n")
    assert detect_format(f) == "twitter_v2"
    items = list(read(f))
    assert any(isinstance(i, Account) and i.handle == "zed" and i.followers == 10 for i in items)
    (post,) = [i for i in items if isinstance(i, Post)]
    assert post.repost_of == "4" and post.account_id == "9"


def test_mastodon_status(tmp_path: Path) -> None:
    status = {"id": "77", "uri": "https://example.social/users/a/statuses/77",
              "created_at": "2023-03-01T10:00:00.000Z", "content": "<p>Hello <b>fediverse</b><br/>line</p>",
              "language": "en", "tags": [{"name": "intro"}], "mentions": [],
              "account": {"id": "3", "acct": "a@example.social", "display_name": "A", "note": "<p>bio</p>"},
              "media_attachments": [{"id": "m", "type": "image", "url": "https://e/x.png"}]}
    f = tmp_path / "masto.json"
    f.write_text(json.dumps(status))
    assert detect_format(f) == "mastodon"
    items = list(read(f))
    (post,) = [i for i in items if isinstance(i, Post)]
    assert post.text == "Hello fediverse\nline" and post.hashtags == ("intro",) and len(post.media) == 1
    (acct,) = [i for i in items if isinstance(i, Account)]
    assert acct.bio == "bio"


def test_fifthtribe_csv_layout(tmp_path: Path) -> None:
    f = tmp_path / "tweets.csv"
    with f.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "username", "description", "location", "followers", "numberstatuses", "time",
                    "tweets"])
        w.writerow(["N", "user1", "d", "l", "10", "5", "1/6/2015 21:07", "first tweet"])
        w.writerow(["N", "", "d", "l", "10", "5", "1/6/2015 21:08", "no username"])
        w.writerow(["N", "user1", "d", "l", "11", "6", "1/7/2015 21:07", "second tweet"])
    assert detect_format(f) == "fifthtribe_csv"
    items = list(read(f))
    posts = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in posts] == ["fifthtribe:0", "fifthtribe:2"]
    (q,) = [i for i in items if isinstance(i, Quarantined)]
    assert q.field == "username" and q.line == 3


def test_json_array_streams_in_bounded_memory(tmp_path: Path) -> None:
    f = tmp_path / "big.json"
    with f.open("w") as fh:
        fh.write("[")
        for i in range(5000):
            fh.write(("," if i else "") + json.dumps({"i": i, "pad": "x" * 100}))
        fh.write("]")
    seen = 0
    for _line, value, err in iter_json_values(f):
        assert err is None and value["i"] == seen
        seen += 1
    assert seen == 5000


def test_real_fifthtribe_sample_reads_without_loss(shared_data: Path) -> None:
    corpus = shared_data / "eval" / "tvec-dev.jsonl"
    if not corpus.is_file():
        pytest.skip("tvec-dev.jsonl not present")
    n_lines = 0
    with corpus.open("rb") as fh:
        for n_lines, _ in enumerate(fh, 1):
            if n_lines >= 3000:
                break
    head = corpus.parent / "__never_written__"
    assert not head.exists()
    posts = 0
    for item in read(corpus, "corpus"):
        posts += isinstance(item, Post)
        if posts >= 3000:
            break
    assert posts == 3000


def test_bundled_sample_conforms_to_the_published_schema() -> None:
    import jsonschema

    schema = json.loads(Path("docs/schema/native.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    lines = Path("examples/sample-stream.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        validator.validate(json.loads(line))
    items = list(read(Path("examples/sample-stream.jsonl")))
    assert not [i for i in items if isinstance(i, Quarantined)]
    assert len(items) == len(lines)
