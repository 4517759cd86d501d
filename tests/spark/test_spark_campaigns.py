"""The campaign stage on Spark (``--detectors ...,campaign``): event-time windows find the hashtags that could
burst, the stream's campaign engine runs per hashtag, and the posts it takes in are decided as ``bastion scan``
decides them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bastion.campaigns.campaign import Campaign
from bastion.campaigns.engine import CampaignConfig
from bastion.cli.main import app
from bastion.errors import InputError
from bastion.spark import unavailable
from bastion.spark.campaigns import merge
from bastion.spark.score import Config

SAMPLE = Path(__file__).parents[2] / "examples" / "sample-stream.jsonl"
NOW = "2026-12-05T00:00:00+00:00"
DETECTORS = "lexicon,propaganda,threat,campaign"
needs_spark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


def _at(minutes: float) -> str:
    return (datetime(2015, 2, 1, 12, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


def _scenario(path: Path) -> Path:
    """Schematic: a public hashtag (#matchday) used by 30 people for two hours; then eight new accounts, one of
    them suspended before, post in-group vocabulary 30 s apart under a fresh hashtag (#newtag) and the public
    one; meanwhile an ordinary burst of ten people on #baking. Texts carry only what the detectors key on."""
    lines: list[dict[str, Any]] = [
        {"type": "account", "id": f"b{i}", "handle": f"user{i}", "created_at": _at(-60 * 24 * 3)} for i in range(8)]
    lines.append({"type": "enforcement", "id": "e1", "kind": "suspend", "target_kind": "account",
                  "target_id": "b7", "created_at": _at(-60), "reason": "terrorist content"})
    lines += [{"type": "post", "id": f"m{i}", "account_id": f"fan{i}", "created_at": _at(4 * i),
               "text": f"[schematic] what a game today number {i} #matchday"} for i in range(30)]
    lines += [{"type": "post", "id": f"k{i}", "account_id": f"b{i % 8}", "created_at": _at(130 + i / 2),
               "text": "[schematic] dawla baqiya khilafah #newtag #matchday"} for i in range(16)]
    lines += [{"type": "post", "id": f"o{i}", "account_id": f"cook{i}", "created_at": _at(130 + i),
               "text": f"[schematic] my bread recipe step {i} #baking"} for i in range(10)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def _local(path: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    res = CliRunner().invoke(app, ["scan", str(path), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--detectors",
                                   DETECTORS, "--out", str(tmp_path / "scan.jsonl"), "--quiet", "--workers", "1"])
    assert res.exit_code == 0, res.output
    import sqlite3  # the store keeps each decision's signals (the campaign's id and hashtags)

    with sqlite3.connect(tmp_path / "b.db") as c:
        return {pid: {"scores": json.loads(sc), "actions": json.loads(a), "signals": json.loads(sg)}
                for pid, sc, a, sg in c.execute("select subject_id, scores, actions, signals from decisions "
                                                "where subject_kind = 'post'")}


def _campaign(d: dict[str, Any]) -> dict[str, Any] | None:
    return next((s["details"] for s in d.get("signals", ()) if s["name"] == "campaign"), None)


def _actions(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["action"], a["rule"]) for a in d["actions"]]


@needs_spark
@pytest.mark.parametrize("source", ["sample", "scenario"])
def test_campaigns_on_spark_decide_their_posts_as_scan_does(spark: Any, tmp_path: Path, source: str) -> None:
    from bastion.spark.job import read_decisions, scan
    from bastion.spark.manifest import verify

    path = SAMPLE if source == "sample" else _scenario(tmp_path / "in.jsonl")
    summary = scan(spark, [str(path)], tmp_path / "out", Config(now=NOW, detectors=DETECTORS))
    on_spark = {d["id"]: d for d in read_decisions(spark, tmp_path / "out") if d["subject"] == "post"}
    local = _local(path, tmp_path)
    assert set(on_spark) == set(local)
    in_campaigns = {pid for pid, d in local.items() if _campaign(d)}
    assert {pid for pid, d in on_spark.items() if _campaign(d)} == in_campaigns and len(in_campaigns) >= 8
    for pid, d in local.items():
        s = on_spark[pid]
        assert _actions(s) == _actions(d), pid
        if pid in in_campaigns:
            here, there = _campaign(s), _campaign(d)
            assert here is not None and there is not None
            assert (here["campaign_id"], here["kind"]) == (there["campaign_id"], there["kind"]), pid
            assert set(here["hashtags"]) >= set(there["hashtags"]) and here["hijacked"] == there["hijacked"]
            assert abs(s["scores"]["campaign"] - d["scores"]["campaign"]) <= 0.03, pid  # (when re-scored)
    detrended = {h for d in on_spark.values() for a in d["actions"] if a["action"] == "detrend_hashtag"
                 for h in a["hashtags"]}
    files = sorted((tmp_path / "out" / "campaigns").glob("part-*"))
    found = [json.loads(line) for f in files for line in f.read_text().splitlines() if line]
    assert summary["campaigns"] == len(found) == 1
    if source == "scenario":  # the barrage's own hashtag is de-trended; the public one is only filtered
        assert detrended == {"newtag"} and found[0]["hashtags"] == ["newtag"]
        assert found[0]["hijacked"] == ["matchday"] and set(found[0]["participants"]) == {f"b{i}" for i in range(8)}
        assert not any(_campaign(on_spark[f"o{i}"]) or _campaign(on_spark[f"m{i}"]) for i in range(10))
    assert verify(tmp_path / "out") == []
    files[0].write_text(files[0].read_text().replace('"closed": false', '"closed": true'))
    assert any("campaigns" in p for p in verify(tmp_path / "out"))  # the campaigns are vouched for too


def test_hashtag_campaigns_that_share_participants_while_open_are_one() -> None:
    cfg = CampaignConfig()

    def camp(cid: str, tag: str, at: float, accounts: str, score: float) -> Campaign:
        return Campaign(id=cid, started_at=at, detected_at=at, last_seen=at + 600, hashtags=[tag],
                        participants={a: 1 for a in accounts}, posts=len(accounts), score=score,
                        reasons=[f"#{tag}"])

    first, joins = camp("c1", "a", 0.0, "xyz", 0.8), camp("c2", "b", 1200.0, "yq", 0.9)
    later, apart = camp("c3", "c", 9000.0, "xyz", 0.7), camp("c4", "d", 1300.0, "rs", 0.6)
    campaigns, into = merge([(later, (9000.0, 0)), (joins, (1200.0, 0)), (apart, (1300.0, 1)), (first, (0.0, 0))],
                            cfg)
    assert into == {"c1": "c1", "c2": "c1", "c3": "c3", "c4": "c4"}  # c3 comes after c1 closed (ttl 1 h)
    one = next(c for c in campaigns if c.id == "c1")
    assert one.hashtags == ["a", "b"] and one.participants == {"x": 1, "y": 2, "z": 1, "q": 1}
    assert (one.score, one.posts, one.reasons) == (0.9, 5, ["#a", "#b"])


def _engine_run(cfg: CampaignConfig, lines: list[tuple[str, float | None, str]]) -> tuple[
        list[float], list[tuple[str, int, float]], set[str]]:
    """What the detector's own engine does with these posts, read in order: each post's time (its own, else
    the event clock's), where it keeps house, and which posts repeat another account's recent post."""
    from bastion.campaigns.clock import EventClock, epoch, from_epoch
    from bastion.campaigns.engine import CampaignEngine, PostInput
    from bastion.campaigns.heuristics import KnownHashtags

    class Recording(CampaignEngine):
        at: tuple[str, int] = ("", 0)

        def _near_dup(self, p: PostInput) -> bool:
            dup = super()._near_dup(p)
            if dup:
                dups.add(p.post_id)
            return dup

        def maintain(self, at: float) -> None:
            runs.append((*self.at, at))
            super().maintain(at)

    dups: set[str] = set()
    runs: list[tuple[str, int, float]] = []
    engine, clock, times = Recording(cfg, KnownHashtags.load()), EventClock(), []
    for n, (account, own, text) in enumerate(lines):
        if own is not None:
            clock.advance(from_epoch(own))
        times.append(own if own is not None else epoch(clock.now()))
        engine.at = ("in.jsonl", n)
        engine.observe(PostInput(post_id=f"p{n}", account=account, ts=times[-1], hashtags=("t",), text=text,
                                 text_score=0.0))
    return times, runs, dups


@needs_spark
def test_the_clock_housekeeping_and_near_duplicates_are_the_detectors_own(spark: Any) -> None:
    """Over every post in the order read, Spark's joins give what the detector's engine does: an untimed post
    takes the latest time read before it, housekeeping runs at the same posts (every 4 posts, 10 min of event
    time apart here) and forgets a cluster idle for longer than its horizon, and the same posts are near-duplicates
    of another account's recent post. Schematic: three texts copied by five accounts, with time jumps."""
    import random

    from bastion.campaigns.neardup import simhash
    from bastion.spark.campaigns import clock_times, housekeeping, near_duplicates, sweeps

    cfg = CampaignConfig(maintenance_posts=4, maintenance_s=600.0, cluster_horizon_s=1800.0, window_s=900.0)
    texts = ["[schematic] alpha beta gamma delta epsilon", "[schematic] one two three four five six",
             "[schematic] red green blue yellow black white"]
    rnd, t0 = random.Random(7), 1_420_000_000.0
    lines: list[tuple[str, float | None, str]] = []
    for n in range(60):
        timed = n == 0 or rnd.random() < 0.3
        own = t0 + 60 * n + (2400 if n > 30 else 0) - (900 if rnd.random() < 0.2 else 0)  # a jump; some late
        lines.append((f"a{rnd.randrange(5)}", own if timed else None, rnd.choice(texts) + f" {n % 2}"))
    times, runs, dups = _engine_run(cfg, lines)
    assert runs and dups and len(dups) < len(lines)  # not trivial either way

    run_time = 1_800_000_000.0
    rows = [(f"p{n}", account, own if own is not None else run_time, None if own is None else "2015-01-01",
             "in.jsonl", n, str(simhash(text))) for n, (account, own, text) in enumerate(lines)]
    posted = clock_times(spark, spark.createDataFrame(
        rows, "id string, account string, at double, date string, file string, line long, reason string"))
    assert [r["at"] for r in posted.orderBy("line").collect()] == times
    schedule = housekeeping(spark, posted, cfg)
    assert schedule == runs
    assert {r["id"] for r in near_duplicates(sweeps(spark, posted, schedule), cfg).collect()} == dups


@needs_spark
def test_campaigns_in_the_stream_close_on_the_watermark(spark: Any, tmp_path: Path) -> None:
    """The scenario arrives in three files: the barrage is found across micro-batches and de-trended as
    ``spark scan`` de-trends it; a post far behind the watermark is decided but not counted; the campaign closes
    once the watermark (10 minutes behind the latest post) passes the hashtag by its window and time to live."""
    from bastion.spark.job import read_decisions, read_stream, scan, stream

    lines = _scenario(tmp_path / "in.jsonl").read_text(encoding="utf-8").splitlines()
    first = [x for x in lines if not json.loads(x)["id"].startswith(("k", "o"))] + \
        [x for x in lines if json.loads(x)["id"] in {f"k{i}" for i in range(8)}]
    second = [x for x in lines if x not in first]
    late = {"type": "post", "id": "late1", "account_id": "b1", "created_at": _at(125),
            "text": "[schematic] dawla baqiya khilafah #newtag"}
    after = {"type": "post", "id": "after1", "account_id": "fan1", "created_at": _at(60 * 5),
             "text": "[schematic] another game #matchday"}
    inbox, out, ckpt = tmp_path / "inbox", tmp_path / "stream", tmp_path / "ckpt"
    inbox.mkdir()
    cfg = Config(now=NOW, detectors=DETECTORS)
    db = f"sqlite:///{tmp_path / 'stream.db'}"
    # the late post (a participant's, on the barrage's hashtag) comes after the watermark passed its time
    for n, part in enumerate([first, second, [json.dumps(late)], [json.dumps(after)]], 1):
        (inbox / f"part-{n}.jsonl").write_text("\n".join(part) + "\n", encoding="utf-8")
        stream(spark, out, ckpt, cfg, path=str(inbox))
        stream(spark, None, tmp_path / "ckpt-db", cfg, path=str(inbox), db=db)  # the same, into a store
        if n == 3:  # open, not yet closed: the watermark is 10 minutes behind the barrage's last post
            assert not spark.read.parquet(str(out)).where("kind = 'campaign'").count()
    decided, _ = read_stream(spark, out)
    posts = {d["id"]: d for d in decided if d["subject"] == "post"}
    scan(spark, [str(tmp_path / "in.jsonl")], tmp_path / "batch", cfg)
    batch = {d["id"]: d for d in read_decisions(spark, tmp_path / "batch") if d["subject"] == "post"}
    assert set(posts) == set(batch) | {"late1", "after1"}
    detrended = {pid for pid, d in posts.items() if any(a["action"] == "detrend_hashtag" for a in d["actions"])}
    assert detrended == {pid for pid, d in batch.items()
                         if any(a["action"] == "detrend_hashtag" for a in d["actions"])} and detrended
    assert not any(_campaign(posts[f"o{i}"]) or _campaign(posts[f"m{i}"]) for i in range(10))
    assert _campaign(posts["late1"]) is None and "late1" in posts  # late: decided, not counted
    closed = [json.loads(r["decision"]) for r in spark.read.parquet(str(out)).where("kind = 'campaign'").collect()]
    assert [(c["hashtags"], c["closed"]) for c in closed] == [(["newtag"], True)]
    import sqlite3

    with sqlite3.connect(tmp_path / "stream.db") as c:
        stored = {pid: json.loads(a) for pid, a in c.execute(
            "select subject_id, actions from decisions where subject_kind = 'post'")}
    assert {pid: [x["action"] for x in a] for pid, a in stored.items()} == \
        {pid: [x["action"] for x in d["actions"]] for pid, d in posts.items()}


@pytest.mark.parametrize("stage", ["ban_evasion", "account_risk", "media"])
def test_the_stream_refuses_the_whole_input_stages(tmp_path: Path, stage: str) -> None:
    """Media too: its tasks count no floods (the batch job's flood stage does), so a stream would never
    quarantine a flooding bank entry."""
    from bastion.spark.job import stream

    with pytest.raises(InputError, match=stage):
        stream(None, tmp_path / "o", tmp_path / "c", Config(now=NOW, detectors=f"lexicon,{stage}"),
               path=str(tmp_path))
