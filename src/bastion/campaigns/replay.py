"""Load a labelled corpus (``eval/*.jsonl``) as a time-ordered stream for the campaign evaluation.

Timestamps come from ``meta.time`` where a data set has them, parsed per data set because formats
disagree: fifthtribe writes month-first (``3/21/2016 12:52``), isextreme day-first (``27/8/18 6:27:55``;
the generic parser would read ``4/2/19`` as the 2nd of April), pheme Twitter's own format, aljazeera ISO.

Posts without a time are placed deterministically (no randomness between runs), in one of two ways:

* **event collections** (``crisislex``, ``crisislex-boston``: the public's posts during attacks, collected
  without times) are replayed as what they were, a public burst: each collection is spread evenly over
  ``event_hours`` (24 h), starting at the median pro-IS timestamp (``crisislex`` three days later). Putting
  them in the busiest pro-IS period is the harder test for the filter: crisis hashtags trend while extremist
  campaigns are open;
* everything else is spread **uniformly** over the pro-IS time range: each post's position in that range is
  the BLAKE2b hash of its id read as a fraction in [0, 1) (so a post's place never depends on file order).

Labels (``class``, ``dataset``) stay with the :class:`ReplayItem` for scoring and never reach the detector:
the post handed on carries an empty ``meta``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import statistics
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bastion.errors import InputError, RecordError
from bastion.ingest.base import parse_time
from bastion.ingest.tabular import corpus_records
from bastion.records import EMPTY, Account, Post

#: Data sets whose ``meta.time`` is day-first, and the formats to try for them.
DAY_FIRST = {"isextreme"}
_DAY_FIRST_FORMATS = ("%d/%m/%y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d/%m/%Y %H:%M")
MONTH_FIRST = {"fifthtribe"}
_MONTH_FIRST_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M")

#: Untimed event collections, replayed as bursts: data set -> offset (days) after the anchor.
EVENT_DATASETS = {"crisislex-boston": 0.0, "crisislex": 3.0}

ANCHOR_CLASS = "pro_isis"


@dataclass(frozen=True, slots=True)
class ReplayItem:
    post: Post
    author: Account | None
    cls: str
    dataset: str
    placement: str  # "timed", "event" or "uniform"


def parse_dataset_time(value: str, dataset: str) -> datetime:
    """Parse ``meta.time`` with the data set's own convention (see the module docstring)."""
    formats = _DAY_FIRST_FORMATS if dataset in DAY_FIRST else _MONTH_FIRST_FORMATS if dataset in MONTH_FIRST \
        else ()
    for fmt in formats:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return parse_time(value, "time")


def _fraction(post_id: str) -> float:
    digest = hashlib.blake2b(post_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _load(path: Path) -> tuple[list[tuple[Post, Account | None, str, str, datetime | None]], int]:
    rows: list[tuple[Post, Account | None, str, str, datetime | None]] = []
    skipped = 0
    with path.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj: dict[str, Any] = json.loads(line)
                meta = dict(obj.get("meta") or {})
                raw_time = meta.pop("time", None)
                dataset = str(obj.get("dataset", ""))
                when = parse_dataset_time(str(raw_time), dataset) if raw_time else None
                records = corpus_records({**obj, "meta": meta})
            except (ValueError, RecordError):
                skipped += 1
                continue
            post = next(r for r in records if isinstance(r, Post))
            author = next((r for r in records if isinstance(r, Account)), None)
            rows.append((post, author, str(obj.get("class", "")), dataset, when))
    return rows, skipped


def load_replay(path: str | Path, *, event_hours: float = 24.0) -> tuple[list[ReplayItem], dict[str, Any]]:
    """The corpus as a time-ordered list, and a description of how times were assigned."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such data file: {p}")
    rows, skipped = _load(p)
    anchor_times = sorted(w for _, _, cls, _, w in rows if w is not None and cls == ANCHOR_CLASS)
    if not anchor_times:
        anchor_times = sorted(w for *_, w in rows if w is not None)
    if not anchor_times:
        raise InputError(f"{p} has no timestamps to replay against")
    lo, hi = anchor_times[0], anchor_times[-1]
    span = (hi - lo).total_seconds()
    median = anchor_times[len(anchor_times) // 2].replace(minute=0, second=0, microsecond=0)
    event_index: dict[str, int] = {}
    event_sizes = {d: sum(1 for r in rows if r[3] == d and r[4] is None) for d in EVENT_DATASETS}
    items: list[ReplayItem] = []
    for post, author, cls, dataset, when in rows:
        placement = "timed"
        if when is None and dataset in EVENT_DATASETS:
            k = event_index.get(dataset, 0)
            event_index[dataset] = k + 1
            start = median + timedelta(days=EVENT_DATASETS[dataset])
            when = start + timedelta(hours=event_hours) * (k / max(1, event_sizes[dataset]))
            placement = "event"
        elif when is None:
            when = lo + timedelta(seconds=span * _fraction(str(post.id)))
            placement = "uniform"
        items.append(ReplayItem(replace(post, created_at=when, meta=EMPTY), author, cls, dataset, placement))
    items.sort(key=lambda it: (it.post.created_at or lo, str(it.post.id)))
    counts: dict[str, int] = {}
    for it in items:
        counts[it.placement] = counts.get(it.placement, 0) + 1
    info = {
        "posts": len(items), "skipped": skipped, "placement": counts,
        "uniform_range": [lo.isoformat(), hi.isoformat()],
        "events": {d: {"start": (median + timedelta(days=off)).isoformat(), "hours": event_hours,
                       "posts": event_sizes[d]} for d, off in EVENT_DATASETS.items()},
        "replay_range": [_iso(items[0]), _iso(items[-1])] if items else [],
        "median_pro_isis_gap_s": _median_gap(anchor_times),
    }
    return items, info


def _iso(item: ReplayItem) -> str:
    return item.post.created_at.isoformat() if item.post.created_at else ""


def _median_gap(times: list[datetime]) -> float:
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    return statistics.median(gaps) if gaps else 0.0
