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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastion.errors import RecordError
from bastion.ingest.base import (
    MAX_TEXT_CHARS,
    Item,
    as_str,
    extract_hashtags,
    extract_mentions,
    extract_urls,
    iter_lines,
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


class FifthTribeCsvReader:
    name = "fifthtribe_csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
        return all(c in first for c in ("username", "tweets", "numberstatuses"))

    def read(self, path: Path) -> Iterator[Item]:
        with path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")
            try:
                reader = csv.DictReader(text)
                missing = [c for c in ("username", "tweets") if c not in (reader.fieldnames or ())]
            except (UnicodeDecodeError, csv.Error) as exc:
                yield quarantine(path, 1, RecordError(f"unreadable CSV header: {exc}"))
                return
            if missing:
                yield quarantine(path, 1, RecordError(f"CSV header lacks {', '.join(missing)}"))
                return
            index = 0
            while True:
                line = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except (UnicodeDecodeError, csv.Error) as exc:
                    yield quarantine(path, line, RecordError(f"bad CSV: {exc}"))
                    return  # the decoder cannot resynchronise reliably after a bad byte run
                try:
                    if None in row:
                        raise RecordError(f"{len(row[None]) + len(FIFTHTRIBE_COLUMNS)} columns, expected "
                                          f"{len(reader.fieldnames or ())}")
                    yield from fifthtribe_records(row, index)
                except Exception as exc:
                    yield quarantine(path, line, exc, ",".join(str(v) for v in row.values())[:500])
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
