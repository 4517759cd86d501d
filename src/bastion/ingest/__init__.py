"""Ingest: stream records from files in any supported format, quarantining bad ones.

Use :func:`read` with a format name or ``"auto"``. Supported formats: ``native`` (Bastion JSONL),
``twitter_v1``, ``twitter_v2``, ``mastodon``, ``activitypub``, ``fifthtribe_csv`` and ``corpus``.

``auto`` reads structure, not bytes: for JSON it parses the first value (the first element of an array, the
first line of JSON Lines, a pretty-printed document) and classifies it by the keys and nesting each format
has (:func:`classify`), whatever their order or however deep in the file they sit. Only when that says
nothing do the readers' byte sniffers look at the first 8 KiB (CSV).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastion.errors import InputError
from bastion.ingest.activitypub import TYPES as AP_TYPES
from bastion.ingest.activitypub import ActivityPubReader
from bastion.ingest.base import Item, Quarantined, Reader
from bastion.ingest.native import TYPES as NATIVE_TYPES
from bastion.ingest.native import NativeReader
from bastion.ingest.social import MastodonReader, TwitterV1Reader, TwitterV2Reader
from bastion.ingest.stream import iter_json_values
from bastion.ingest.tabular import CorpusReader, FifthTribeCsvReader

#: Sniffing order matters: the most specific formats first.
READERS: dict[str, Reader] = {r.name: r for r in (
    NativeReader(), CorpusReader(), TwitterV2Reader(), TwitterV1Reader(), MastodonReader(),
    ActivityPubReader(), FifthTribeCsvReader(),
)}

__all__ = ["READERS", "Item", "Quarantined", "classify", "detect_format", "read"]

#: How many leading JSON values detection may look at when the first ones say nothing (or are broken).
_PROBE_VALUES = 8


def classify(value: Any) -> str | None:
    """The format a parsed JSON value belongs to, from its structure; None when it fits none."""
    if isinstance(value, list):
        value = next((v for v in value[:16] if isinstance(v, dict)), None)
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if isinstance(kind, str) and kind in NATIVE_TYPES:
        return "native"
    if "dataset" in value and "class" in value:
        return "corpus"
    if "@context" in value or (isinstance(kind, str | list) and any(
            k in AP_TYPES for k in ([kind] if isinstance(kind, str) else kind))):
        return "activitypub"
    if isinstance(value.get("event"), str) and isinstance(value.get("object"), dict):
        return "mastodon"
    if isinstance(value.get("statuses"), list) or (
            isinstance(value.get("user"), dict) and ("text" in value or "full_text" in value)):
        return "twitter_v1"
    if isinstance(value.get("data"), list | dict) or (isinstance(value.get("meta"), dict) and (
            "result_count" in value["meta"] or "next_token" in value["meta"])):
        return "twitter_v2"
    if "id" in value and "text" in value and ("edit_history_tweet_ids" in value or "author_id" in value):
        return "twitter_v2"  # a bare v2 tweet per line
    if (isinstance(value.get("account"), dict) and ("content" in value or "uri" in value)) \
            or "target_account" in value or ("acct" in value and "username" in value) \
            or (isinstance(value.get("account"), dict) and "username" in value and "ip" in value):  # Admin::Account
        return "mastodon"
    return None


def _structural(path: Path, head: bytes) -> str | None:
    if head.lstrip()[:1] not in (b"{", b"["):
        return None
    values = iter_json_values(path)
    try:
        for i, (_, value, error) in enumerate(values):
            if error is None and (name := classify(value)) is not None:
                return name
            if i + 1 >= _PROBE_VALUES:
                break
    finally:
        values.close()  # type: ignore[attr-defined]
    return None


def detect_format(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    if (name := _structural(path, head.lstrip(b"\xef\xbb\xbf"))) is not None:
        return name
    for name, reader in READERS.items():
        if reader.sniff(path, head):
            return name
    raise InputError(f"cannot tell the format of {path}; pass --format ({', '.join(READERS)})")


def read(path: str | Path, fmt: str = "auto") -> Iterator[Item]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such input file: {p}")
    name = detect_format(p) if fmt == "auto" else fmt
    if name not in READERS:
        raise InputError(f"unknown format {name!r}; known: auto, {', '.join(READERS)}")
    return READERS[name].read(p)
