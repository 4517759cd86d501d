"""Plain functions behind ``bastion trends`` and the (future) API route: no framework, no globals.

The API layer calls :func:`filter_trends` with the request body's candidates and the stage's current
snapshot (or a live :class:`~bastion.campaigns.detector.CampaignDetector`), and returns its dict as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bastion.campaigns.clock import epoch, from_epoch
from bastion.campaigns.detector import CampaignDetector
from bastion.campaigns.trends import TrendCandidate, TrendFilter
from bastion.detector import PostContext
from bastion.errors import InputError, RecordError
from bastion.records import Account, Post


def parse_candidates(data: Any) -> list[TrendCandidate]:
    """Candidates from decoded JSON: a list, ``{"trends": [...]}``, or one object per JSONL line."""
    if isinstance(data, Mapping) and "trends" in data:
        data = data["trends"]
    if isinstance(data, Mapping | str):
        data = [data]
    if not isinstance(data, list):
        raise InputError("trend candidates must be a list of hashtags or {\"hashtag\", \"count\"} objects")
    out = []
    for i, obj in enumerate(data):
        try:
            out.append(TrendCandidate.from_json(obj))
        except RecordError as exc:
            raise InputError(f"trend candidate {i}: {exc}") from exc
    return out


def read_candidates(path: str | Path) -> list[TrendCandidate]:
    """Read candidates from a JSON or JSONL file."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from exc
    try:
        return parse_candidates(json.loads(text))
    except json.JSONDecodeError:
        pass
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}:{n}: not JSON or JSONL: {exc.msg}") from exc
    return parse_candidates(rows)


def detector_from_state(state: bytes | None, **options: Any) -> CampaignDetector:
    det = CampaignDetector(**options)
    if state is not None:
        det.restore(state)
    return det


def replay_posts(detector: CampaignDetector, records: Iterable[Any], until: datetime | None = None) -> int:
    """Feed posts (with their authors, where given) to ``detector`` in time order, up to ``until`` when
    given (so the state is the state as of that time); returns the number of posts fed."""
    authors: dict[str, Account] = {}
    posts: list[Post] = []
    for rec in records:
        if isinstance(rec, Account):
            authors[str(rec.id)] = rec
        elif isinstance(rec, Post):
            posts.append(rec)
    posts.sort(key=lambda p: epoch(p.created_at) if p.created_at is not None else float("inf"))
    if until is not None:
        limit = epoch(until)
        posts = [p for p in posts if p.created_at is not None and epoch(p.created_at) <= limit]
    for i in range(0, len(posts), 512):
        detector.detect([PostContext(p, authors.get(str(p.account_id))) for p in posts[i:i + 512]])
    return len(posts)


def filter_trends(candidates: Sequence[TrendCandidate | Mapping[str, Any] | str] | None = None, *,
                  state: bytes | None = None, detector: CampaignDetector | None = None,
                  at: datetime | None = None, min_posts: int = 5,
                  include_campaigns: bool = False) -> dict[str, Any]:
    """Decide allow/suppress for candidate trends.

    Without candidates, the stage's own trending hashtags (at least ``min_posts`` in the window) are the
    candidates. Without state or detector, only the known-extremist-hashtag list is checked. ``at``
    defaults to the state's watermark (its latest event time).
    """
    if detector is None and state is not None:
        detector = detector_from_state(state)
    engine = detector.engine if detector is not None else None
    if at is not None:
        when = epoch(at)
        if engine is not None and when < engine.watermark - engine.config.window_s:
            raise InputError(f"the state is at {from_epoch(engine.watermark).isoformat()}; it cannot answer "
                             f"for {at.isoformat()} (windows only keep the last "
                             f"{engine.config.window_s / 60:.0f} minutes)")
    elif engine is not None and engine.watermark:
        when = engine.watermark
    else:
        when = epoch(datetime.now().astimezone())
    if candidates is None:
        if engine is None:
            raise InputError("give candidate trends, or a state to take them from")
        cands = [TrendCandidate(tag, n) for tag, n in engine.trending(when, min_posts)]
    else:
        cands = [c if isinstance(c, TrendCandidate) else TrendCandidate.from_json(c) for c in candidates]
    tfilter = TrendFilter(engine)
    out: dict[str, Any] = {"at": from_epoch(when).isoformat(),
                           "decisions": [d.to_json() for d in tfilter.filter(cands, when)]}
    for cand, dec in zip(cands, out["decisions"], strict=True):
        if cand.count is not None:
            dec["count"] = cand.count
    if include_campaigns and detector is not None:
        out["campaigns"] = detector.campaigns()
    return out
