"""Replay loading, ground truth and the evaluation report on a small schematic corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bastion.campaigns.clock import epoch
from bastion.campaigns.evaluate import evaluate
from bastion.campaigns.replay import load_replay, parse_dataset_time
from bastion.campaigns.truth import TruthSpec, news_or_crisis, tag_class_counts, truth_bursts

START = datetime(2016, 2, 1, 10, 0, tzinfo=UTC)


def _row(i: int, cls: str, dataset: str, text: str, minutes: float | None = None,
         account: str | None = None) -> dict[str, object]:
    meta: dict[str, object] = {}
    if minutes is not None:
        meta["time"] = (START + timedelta(minutes=minutes)).strftime("%m/%d/%Y %H:%M")
    if account is not None:
        meta["account"] = account
    return {"id": f"{dataset}:{i}", "dataset": dataset, "class": cls, "text": text, "meta": meta}


def corpus(path: Path) -> Path:
    rows = []
    # a pro-IS barrage: 8 posts on #ownedtag in 8 minutes from 3 accounts, after a quiet day of 2 posts
    rows += [_row(k, "pro_isis", "fifthtribe", f"khilafah dawlah item {k} #ownedtag", -600 + k * 300,
                  f"op{k % 3}") for k in range(2)]
    rows += [_row(10 + k, "pro_isis", "fifthtribe", f"khilafah dawlah item {k} #ownedtag", k, f"op{k % 3}")
             for k in range(8)]
    # the public's crisis posts without times (an event collection), and untimed background
    rows += [_row(100 + k, "crisis_public", "crisislex", f"thoughts with the city {k} #cityattack")
             for k in range(150)]
    rows += [_row(200 + k, "ordinary", "tweeteval-emoji", f"lovely day {k} #sunny") for k in range(20)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_dataset_time_conventions() -> None:
    assert parse_dataset_time("4/2/19 9:07:36", "isextreme") == datetime(2019, 2, 4, 9, 7, 36, tzinfo=UTC)
    assert parse_dataset_time("3/21/2016 12:52", "fifthtribe") == datetime(2016, 3, 21, 12, 52, tzinfo=UTC)
    assert parse_dataset_time("Fri Jan 09 12:00:31 +0000 2015", "pheme").year == 2015


def test_replay_places_untimed_posts_deterministically(tmp_path: Path) -> None:
    items, info = load_replay(corpus(tmp_path / "c.jsonl"))
    again, _ = load_replay(tmp_path / "c.jsonl")
    assert [str(i.post.id) for i in items] == [str(i.post.id) for i in again]
    assert info["placement"] == {"timed": 10, "event": 150, "uniform": 20}
    times = [i.post.created_at for i in items if i.post.created_at is not None]
    assert times == sorted(times)
    assert all(not i.post.meta for i in items)  # labels never travel with the post
    event = [i for i in items if i.placement == "event"]
    span = (max(i.post.created_at for i in event if i.post.created_at)
            - min(i.post.created_at for i in event if i.post.created_at))
    assert span <= timedelta(hours=24)
    lo, hi = (datetime.fromisoformat(x) for x in info["uniform_range"])
    assert all(lo <= (i.post.created_at or lo) <= hi for i in items if i.placement == "uniform")


def test_truth_bursts_and_news_hashtags(tmp_path: Path) -> None:
    items, _ = load_replay(corpus(tmp_path / "c.jsonl"))
    bursts = truth_bursts(items, TruthSpec())
    assert [b.tag for b in bursts] == ["ownedtag"]
    b = bursts[0]
    assert b.start == epoch(START + timedelta(minutes=4))  # the fifth post in the hour
    assert b.first_post == epoch(START) and b.posts == 5 and b.peak == 8
    counts = tag_class_counts(items)
    assert news_or_crisis(counts) == {"cityattack"}


def test_evaluate_report_shape(tmp_path: Path) -> None:
    rep = evaluate(str(corpus(tmp_path / "c.jsonl")), upstream="none", tick_s=60)
    b = rep["bursts"]
    assert b["pro_isis"] == 1 and b["detected"] == 1 and b["median_minutes_to_detect"] == 0.0
    assert rep["suppressed_news_or_crisis"] == []
    assert [s["hashtag"] for s in rep["suppressed"]] == ["ownedtag"]
    assert set(rep["suppressed"][0]["class_mix"]) == {"pro_isis"}
    assert "cityattack" in rep["news_or_crisis"]["trended"]
    assert rep["campaign_signal_posts"]["by_class"] == {"pro_isis": 6}
    json.dumps(rep)
