"""Readers for data-set layouts: the "How ISIS uses Twitter" CSV and Bastion's evaluation corpora.

* ``fifthtribe_csv``: columns name, username, description, location, followers, numberstatuses, time,
  tweets. Each row is one tweet; its author's profile comes with every row, so each row yields the account
  (a later row updates it) and the post. Post ids are ``fifthtribe:<row>`` with the 0-based data row, the
  same ids the evaluation corpus uses.
* ``corpus``: the JSONL layout of ``shared/data/eval/*.jsonl`` (``id``, ``dataset``, ``class``, ``text``,
  optional ``lang`` and ``meta``); ``meta.account`` and the profile fields, where present, become the author.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastion.errors import RecordError
from bastion.ingest.base import (
    MAX_LINE_BYTES,
    MAX_TEXT_CHARS,
    Item,
    as_str,
    extract_hashtags,
    extract_mentions,
    extract_urls,
    iter_lines,
    iter_raw_lines,
    opt_int,
    opt_str,
    opt_time,
    parse_json_line,
    quarantine,
    req_str,
)
from bastion.records import Account, AccountId, Post, PostId, Record

FIFTHTRIBE_COLUMNS = ("name", "username", "description", "location", "followers", "numberstatuses", "time",
                      "tweets")


def fifthtribe_records(row: dict[str, Any], index: int) -> list[Record]:
    pid = f"fifthtribe:{index}"
    user = req_str(row, "username", pid)
    created = opt_time(row, "time", pid)
    account = Account(
        id=AccountId(user), handle=user, display_name=opt_str(row, "name", pid) or "",
        bio=opt_str(row, "description", pid) or "", location=opt_str(row, "location", pid) or "",
        followers=opt_int(row, "followers", pid), statuses=opt_int(row, "numberstatuses", pid),
        updated_at=created, source="fifthtribe")
    text = as_str(row.get("tweets") or "", "tweets", pid, MAX_TEXT_CHARS)
    if not text:
        raise RecordError("missing", field="tweets", record_id=pid)
    post = Post(id=PostId(pid), account_id=account.id, text=text, created_at=created,
                hashtags=extract_hashtags(text), mentions=extract_mentions(text), urls=extract_urls(text),
                source="fifthtribe")
    return [account, post]


#: A quoted field may hold line breaks, but no post runs this long: a record still open after this many lines
#: has an unterminated quote, and only its first line is blamed.
MAX_RECORD_LINES = 64


def _parse_csv_record(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    if len(rows) != 1:
        raise RecordError(f"{len(rows)} rows in one record")
    return rows[0]


class FifthTribeCsvReader:
    """CSV read record by record: a bad byte, an oversized field or an unterminated quote costs one row.

    Physical lines are read in bounded memory and joined while a quote is open (an odd number of ``"``), up to
    :data:`MAX_RECORD_LINES` lines or ``MAX_LINE_BYTES`` bytes. A joined record that does not parse into
    the header's columns is an unterminated quote: its first line is quarantined and the lines after it are
    read again, so the rows behind a stray quote are not swallowed.
    """

    name = "fifthtribe_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
        return all(c in first for c in ("username", "tweets", "numberstatuses"))

    def read(self, path: Path) -> Iterator[Item]:
        lines = iter_raw_lines(path)
        pending: deque[tuple[int, bytes, bool]] = deque()
        header: list[str] | None = None
        index = 0
        while True:
            first = pending.popleft() if pending else next(lines, None)
            if first is None:
                return
            n, line, over = first
            if not over and not line.strip():
                continue
            if over:
                yield quarantine(path, n, RecordError(f"row over the {MAX_LINE_BYTES}-byte limit"), line[:500])
                index += header is not None
                continue
            parts = [line]
            quotes = line.count(b'"')
            size = len(line)
            while quotes % 2 and len(parts) < MAX_RECORD_LINES and size <= MAX_LINE_BYTES:
                more = pending.popleft() if pending else next(lines, None)
                if more is None:
                    break
                if more[2]:
                    pending.appendleft(more)
                    break
                parts.append(more[1])
                quotes += more[1].count(b'"')
                size += len(more[1])
            raw = b"".join(parts)
            try:
                if quotes % 2:
                    raise RecordError("unterminated quote")
                if size > MAX_LINE_BYTES:
                    raise RecordError(f"row over the {MAX_LINE_BYTES}-byte limit")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise RecordError(f"invalid UTF-8 at byte {exc.start}") from None
                try:
                    values = _parse_csv_record(text)
                except csv.Error as exc:
                    raise RecordError(f"bad CSV: {exc}") from None
                if header is not None and len(values) != len(header):
                    raise RecordError(f"{len(values)} columns, expected {len(header)}")
            except RecordError as exc:
                error = exc
                if len(parts) > 1:  # blame the line that opened the quote; read the others again
                    pending.extendleft((n + k, p, False) for k, p in reversed(list(enumerate(parts[1:], 1))))
                    error, raw = RecordError("unterminated quote"), parts[0]
                if header is None:
                    yield quarantine(path, n, RecordError(f"unreadable CSV header ({error.reason}); reading the "
                                                          f"rows as {','.join(FIFTHTRIBE_COLUMNS)}"), raw[:500])
                    header = list(FIFTHTRIBE_COLUMNS)
                else:
                    yield quarantine(path, n, error, raw[:500])
                    index += 1
                continue
            if header is None:
                header = values
                missing = [c for c in ("username", "tweets") if c not in header]
                if missing:
                    yield quarantine(path, n, RecordError(f"CSV header lacks {', '.join(missing)}"), raw[:500])
                    return
                continue
            try:
                yield from fifthtribe_records(dict(zip(header, values, strict=True)), index)
            except Exception as exc:
                yield quarantine(path, n, exc, raw[:500])
            index += 1


def corpus_records(obj: Any) -> list[Record]:
    if not isinstance(obj, dict):
        raise RecordError("expected a JSON object")
    pid = req_str(obj, "id")
    text = as_str(obj.get("text", ""), "text", pid, MAX_TEXT_CHARS)
    raw_meta = obj.get("meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    user = opt_str(meta, "account", pid) or f"anon:{obj.get('dataset', 'corpus')}:{pid}"
    created = opt_time(meta, "time", pid)
    records: list[Record] = []
    if meta.get("account"):
        records.append(Account(
            id=AccountId(user), handle=user, display_name=opt_str(meta, "name", pid) or "",
            bio=opt_str(meta, "description", pid) or "", location=opt_str(meta, "location", pid) or "",
            followers=opt_int(meta, "followers", pid), statuses=opt_int(meta, "statuses", pid),
            updated_at=created, source="corpus"))
    labels = {k: obj[k] for k in ("dataset", "class") if k in obj}
    records.append(Post(id=PostId(pid), account_id=AccountId(user), text=text, created_at=created,
                        lang=opt_str(obj, "lang", pid), hashtags=extract_hashtags(text),
                        mentions=extract_mentions(text), urls=extract_urls(text), source="corpus",
                        meta=labels))
    return records


class CorpusReader:
    name = "corpus"

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0]
        return first.lstrip().startswith(b"{") and b'"dataset"' in first and b'"class"' in first

    def read(self, path: Path) -> Iterator[Item]:
        for n, line in iter_lines(path):
            try:
                yield from corpus_records(parse_json_line(line))
            except Exception as exc:
                yield quarantine(path, n, exc, line)
