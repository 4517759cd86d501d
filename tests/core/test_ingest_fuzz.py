"""Readers never lose a record: fuzzed files in every format, with the damage a real feed carries.

Each example writes a handful of records in one format, damages some of them (truncation, deep nesting, an
oversized value, invalid bytes, NULs, a stray quote) and reads the file back. Every undamaged record must come
out exactly as written, nothing may raise, and every damaged record must come out as a record or as a
quarantine entry. The JSON document scanner reads in tiny chunks, so multibyte characters, escapes and brackets
fall across chunk boundaries everywhere.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.ingest import Quarantined, read, stream
from bastion.ingest import base as ingest_base
from bastion.records import Post

LIMIT = 4096  # the per-record byte limit during these tests (the real one is 1 MiB)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30).filter(lambda t: t.strip())
DAMAGE = st.sampled_from(["none", "none", "truncate", "nest", "oversize", "bad_byte", "nul"])


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("bastion.ingest.base", "bastion.ingest.stream", "bastion.ingest.tabular"):
        monkeypatch.setattr(f"{module}.MAX_LINE_BYTES", LIMIT)
    monkeypatch.setattr(stream, "CHUNK", 7)


# -- renderers: one record dict -> the format's object ------------------------------------------------------

def native(r: dict[str, Any]) -> dict[str, Any]:
    return {"type": "post", "id": r["id"], "account_id": "a1", "text": r["text"]}


def corpus(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "dataset": "fuzz", "class": "x", "text": r["text"]}


def twitter_v1(r: dict[str, Any]) -> dict[str, Any]:
    return {"id_str": r["id"], "full_text": r["text"], "user": {"id_str": "u1", "screen_name": "anna"},
            "entities": {"hashtags": [], "user_mentions": [], "urls": []}}


def mastodon(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "uri": f"https://m.example/{r['id']}", "content": "<p>post</p>",
            "account": {"id": "u1", "acct": "anna", "username": "anna"}, "mentions": [], "tags": []}


def twitter_v2(r: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"id": r["id"], "text": r["text"], "edit_history_tweet_ids": [r["id"]]}}


def activitypub(r: dict[str, Any]) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Create", "id": f"{r['id']}/activity",
            "actor": "https://ap.example/users/anna",
            "object": {"type": "Note", "id": r["id"], "attributedTo": "https://ap.example/users/anna",
                       "content": "<p>post</p>"}}


def damage(line: bytes, how: str) -> bytes:
    if how == "truncate":
        return line[: max(1, len(line) // 2)]
    if how == "nest":
        return b"[" * 5000
    if how == "oversize":
        return line[:-1] + b" " * (LIMIT + 10) + line[-1:]
    if how == "bad_byte":
        at = line.rindex(b'"', 0, len(line) - 1)
        return line[:at] + b"\xff\xfe" + line[at:]
    if how == "nul":
        at = line.rindex(b'"', 0, len(line) - 1)
        return line[:at] + b"\x00" + line[at:]
    return line


def write_lines(path: Path, objs: list[bytes]) -> Path:
    path.write_bytes(b"".join(o + b"\n" for o in objs))
    return path


def check(items: list[Any], records: list[dict[str, Any]], damaged: list[str], text_kept: bool) -> None:
    posts = [i for i in items if isinstance(i, Post)]
    quarantined = [i for i in items if isinstance(i, Quarantined)]
    assert all(isinstance(i, Quarantined) or hasattr(i, "id") or hasattr(i, "src") for i in items)
    intact = [r for r, d in zip(records, damaged, strict=True) if d == "none"]
    got = {p.id: p for p in posts}
    for r in intact:
        assert r["id"] in got, f"intact record {r['id']} lost; quarantined: {[q.reason for q in quarantined]}"
        if text_kept:
            assert got[r["id"]].text == r["text"]
    assert [p.id for p in posts if p.id in {r["id"] for r in intact}] == [r["id"] for r in intact]
    broken = sum(d in ("truncate", "nest", "oversize", "bad_byte") for d in damaged)
    assert len(quarantined) >= min(1, broken)
    assert len(posts) + len(quarantined) >= len(records)


CASES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], bool]] = [
    ("native", native, True), ("corpus", corpus, True), ("twitter_v1", twitter_v1, True),
    ("mastodon", mastodon, False), ("twitter_v2", twitter_v2, True), ("activitypub", activitypub, False),
]


@pytest.mark.parametrize(("fmt", "render", "text_kept"), CASES, ids=[c[0] for c in CASES])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=8), damages=st.lists(DAMAGE, min_size=8, max_size=8))
def test_json_lines_lose_nothing(tmp_path: Path, fmt: str, render: Callable[[dict[str, Any]], dict[str, Any]],
                                 text_kept: bool, texts: list[str], damages: list[str]) -> None:
    records = [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]
    damaged = damages[: len(records)]
    if damaged[0] != "none":  # the first line decides JSON Lines; a damaged one is covered by the next test
        damaged[0] = "none"
    lines = [damage(json.dumps(render(r), ensure_ascii=False).encode(), d) for r, d in zip(records, damaged,
                                                                                        strict=True)]
    f = write_lines(tmp_path / f"{fmt}.jsonl", lines)
    items = list(read(f, fmt))
    check(items, records, damaged, text_kept)
    bad_lines = {i + 1 for i, d in enumerate(damaged) if d != "none"}
    assert {q.line for q in items if isinstance(q, Quarantined)} <= bad_lines


@pytest.mark.parametrize(("fmt", "render", "text_kept"), CASES[2:], ids=[c[0] for c in CASES[2:]])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=6), damages=st.lists(DAMAGE, min_size=6, max_size=6),
       in_array=st.booleans())
def test_pretty_printed_documents_lose_nothing(tmp_path: Path, fmt: str,
                                               render: Callable[[dict[str, Any]], dict[str, Any]],
                                               text_kept: bool, texts: list[str], damages: list[str],
                                               in_array: bool) -> None:
    records = [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]
    damaged = [d if d != "nul" else "none" for d in damages[: len(records)]]
    indent = "  " if in_array else ""
    blocks = []
    for r, d in zip(records, damaged, strict=True):
        text = json.dumps(render(r), indent=2, ensure_ascii=False)
        block = "\n".join(indent + line for line in text.split("\n")).encode()
        if d == "oversize":
            pad = indent.encode() + b'  "pad": "' + b"x" * (LIMIT + 10) + b'",\n'
            block = block.replace(b"{\n", b"{\n" + pad, 1)
        elif d != "none":
            block = damage(block, d)
        blocks.append(block)
    body = (b",\n" if in_array else b"\n").join(blocks)
    f = tmp_path / f"{fmt}.json"
    f.write_bytes(b"[\n" + body + b"\n]\n" if in_array else body + b"\n")
    items = list(read(f, fmt))
    check(items, records, damaged, text_kept)


def test_a_record_cut_right_after_a_backslash_loses_only_itself(tmp_path: Path) -> None:
    """Found by the test above: a pretty-printed record cut just after the backslash of an escape (``"\\r``),
    then a newline. The newline is no escaped character: the string ends broken there, and the next record is
    read (it had been swallowed into the broken one)."""
    first = json.dumps(twitter_v2({"id": "r0", "text": "a\rb"}), indent=2).encode()
    cut = first[: first.index(b"\\") + 1]
    assert cut.endswith(b"\\")
    second = json.dumps(twitter_v2({"id": "r1", "text": "kept"}), indent=2).encode()
    f = tmp_path / "cut.json"
    f.write_bytes(cut + b"\n" + second + b"\n")
    items = list(read(f, "twitter_v2"))
    assert [p.id for p in items if isinstance(p, Post)] == ["r1"]
    reasons = [q.reason for q in items if isinstance(q, Quarantined)]
    assert reasons == ["bad JSON: a string runs past the end of its line"]


def test_csv_rows_lose_nothing_and_split_nothing(tmp_path: Path) -> None:
    rows = [[f"N{i}", f"u{i}", "bio, with comma", "here", "10", "20", "1/6/2015 21:07", text]
            for i, text in enumerate(["plain", 'with "quotes"', "two\nlines", "عربي ✓ \ufffd", "last"])]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "username", "description", "location", "followers", "numberstatuses", "time", "tweets"])
    w.writerows(rows)
    good = buf.getvalue().encode()
    lines = good.split(b"\n")
    damaged = {
        "bad byte": [*lines[:2], lines[2].replace(b"with", b"w\xffith"), *lines[3:]],
        "stray quote": [*lines[:2], lines[2].replace(b'quotes"""', b'quotes""'), *lines[3:]],
        "oversize": [*lines[:2], lines[2].replace(b"with", b"x" * (LIMIT + 10)), *lines[3:]],
        "columns": [*lines[:2], b"a,b", *lines[3:]],
    }
    f = tmp_path / "ok.csv"
    f.write_bytes(good)
    assert [i.text for i in read(f, "fifthtribe_csv") if isinstance(i, Post)] == [r[7] for r in rows]
    for name, variant in damaged.items():
        f = tmp_path / f"{name}.csv"
        f.write_bytes(b"\n".join(variant))
        items = list(read(f, "fifthtribe_csv"))
        posts = [i for i in items if isinstance(i, Post)]
        (q,) = [i for i in items if isinstance(i, Quarantined)]
        assert q.line == 3, name
        assert [p.id for p in posts] == [f"fifthtribe:{k}" for k in (0, 2, 3, 4)], name
        assert [p.text for p in posts] == [rows[k][7] for k in (0, 2, 3, 4)], name


def test_deep_nesting_in_a_status_file_is_one_quarantined_record(tmp_path: Path) -> None:
    good = [json.dumps(twitter_v1({"id": f"s{i}", "text": "hi"})).encode() for i in range(3)]
    f = write_lines(tmp_path / "deep.jsonl", [good[0], b"[" * 100_000, good[1], b"{" * 100_000, good[2]])
    items = list(read(f, "twitter_v1"))
    assert [i.id for i in items if isinstance(i, Post)] == ["s0", "s1", "s2"]
    assert [q.line for q in items if isinstance(q, Quarantined)] == [2, 4]


def test_one_oversized_value_does_not_hide_the_rest_of_the_file(tmp_path: Path) -> None:
    lines = []
    for i in range(16):
        obj = twitter_v1({"id": f"s{i}", "text": "x" * (LIMIT + 1 if i == 3 else 5)})
        lines.append(json.dumps(obj).encode())
    items = list(read(write_lines(tmp_path / "big.jsonl", lines), "twitter_v1"))
    assert len([i for i in items if isinstance(i, Post)]) == 15
    assert [q.line for q in items if isinstance(q, Quarantined)] == [4]


def test_a_real_replacement_character_is_text_not_invalid_utf8(tmp_path: Path) -> None:
    text = "before \ufffd after " + "ش" * 40  # two-byte letters fall across the tiny chunks
    f = tmp_path / "ffd.json"
    f.write_text(json.dumps([twitter_v1({"id": "s1", "text": text})], indent=2, ensure_ascii=False), "utf-8")
    (post,) = [i for i in read(f, "twitter_v1") if isinstance(i, Post)]
    assert post.text == text


def test_wrong_types_are_quarantined_not_coerced(tmp_path: Path) -> None:
    f = write_lines(tmp_path / "types.jsonl", [
        b'{"type": "post", "id": "p1", "account_id": "a", "text": 123}',
        b'{"type": "post", "id": 7, "account_id": 8, "text": "numeric ids are ids"}',
    ])
    items = list(read(f, "native"))
    (q,) = [i for i in items if isinstance(i, Quarantined)]
    assert q.field == "text" and "expected a string" in q.reason
    (post,) = [i for i in items if isinstance(i, Post)]
    assert post.id == "7" and post.account_id == "8"


@pytest.mark.parametrize("fmt", ["native", "corpus", "twitter_v1", "fifthtribe_csv"])
def test_a_huge_line_is_read_in_bounded_memory(tmp_path: Path, fmt: str) -> None:
    import tracemalloc

    huge = 40 * LIMIT * 100  # 16 MB, 4,000 times the limit
    f = tmp_path / "huge"
    with f.open("wb") as fh:
        if fmt == "fifthtribe_csv":
            fh.write(b"name,username,description,location,followers,numberstatuses,time,tweets\n")
            fh.write(b'N,u,d,l,1,2,1/6/2015 21:07,"' + b"x" * huge + b'"\n')
            fh.write(b"N,u,d,l,1,2,1/6/2015 21:07,fine\n")
        else:
            fh.write(b'{"id": "big", "text": "' + b"x" * huge + b'"}\n')
            fh.write(json.dumps({"native": native, "corpus": corpus, "twitter_v1": twitter_v1}[fmt](
                {"id": "ok", "text": "fine"})).encode() + b"\n")
    tracemalloc.start()
    try:
        items = list(read(f, fmt))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"peak {peak:,} bytes for a {huge:,}-byte line"
    assert [i.text for i in items if isinstance(i, Post)] == ["fine"]
    assert len([i for i in items if isinstance(i, Quarantined)]) == 1
    assert ingest_base.MAX_LINE_BYTES == LIMIT
