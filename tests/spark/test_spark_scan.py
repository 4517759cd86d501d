"""``bastion spark scan`` on a local Spark (``local[2]``): the same decisions as ``bastion scan`` with the same
per-post detectors, the same quarantine, and a clear error for what does not run on Spark yet.

The Spark-free tests drive :class:`bastion.spark.score.Scorer`, what every Spark task runs, directly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.errors import InputError
from bastion.spark import unavailable
from bastion.spark.score import Config, Scorer

SAMPLE = Path(__file__).parents[2] / "examples" / "sample-stream.jsonl"
NOW = "2026-12-05T00:00:00+00:00"
DETECTORS = "lexicon,propaganda,threat"


needs_spark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


def _bad_lines(tmp_path: Path) -> Path:
    p = tmp_path / "mixed.jsonl"
    p.write_text("\n".join([
        json.dumps({"type": "post", "id": "ok1", "account_id": "a", "text": "hello there",
                    "created_at": "2026-01-02T03:04:05Z"}),
        "{not json",
        json.dumps({"type": "post", "id": "bad2", "account_id": "a"}),  # no text
        "",
        json.dumps({"type": "post", "id": "ok2", "account_id": "b", "text": "we will kill your staff tonight",
                    "created_at": "2026-01-03T00:00:00Z"}),
    ]) + "\n", encoding="utf-8")
    return p


def test_a_task_quarantines_bad_lines_with_file_line_field_and_reason(tmp_path: Path) -> None:
    p = _bad_lines(tmp_path)
    lines = [(str(p), n, t) for n, t in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)]
    rows = Scorer(Config(now=NOW, detectors=DETECTORS)).score_lines(lines)
    q = {r["line"]: r for r in rows if r["kind"] == "quarantine"}
    assert set(q) == {2, 3}
    assert "JSON" in q[2]["reason"] and q[2]["file"] == str(p)
    assert q[3]["field"] == "text" and q[3]["record_id"] == "bad2"
    decided = {r["subject_id"]: r for r in rows if r["kind"] == "decision"}
    assert set(decided) == {"ok1", "ok2"} and decided["ok2"]["date"] == "2026-01-03"


SOCIAL = Path(__file__).parents[1] / "fixtures" / "social"


@pytest.mark.parametrize(("fmt", "name"), [
    ("twitter_v1", "tweepy-v1-user-timeline.jsonl"), ("twitter_v1", "tweepy-v1-search-tweets.jsonl"),
    ("twitter_v2", "tweepy-v2-get-tweets.jsonl"), ("twitter_v2", "tweepy-v2-search-recent.jsonl"),
    ("activitypub", "activitypub-mastodon-spec.jsonl"),
])
def test_platform_json_lines_are_decided_as_scan_decides_them(tmp_path: Path, fmt: str, name: str) -> None:
    """The platform readers' own units and conversion, one JSON value per line: the same decisions as
    ``bastion scan --format`` on the same file."""
    path = SOCIAL / name
    lines = [(str(path), n, t) for n, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
    rows = Scorer(Config(now=NOW, detectors=DETECTORS, format=fmt)).score_lines(lines)
    res = CliRunner().invoke(app, ["scan", str(path), "--format", fmt, "--db", f"sqlite:///{tmp_path / 'b.db'}",
                                   "--detectors", DETECTORS, "--out", str(tmp_path / "scan.jsonl"), "--quiet",
                                   "--workers", "1"])
    assert res.exit_code == 0, res.output
    local = {d["decision_id"]: d for d in map(json.loads, (tmp_path / "scan.jsonl").read_text().splitlines())}
    on_spark = {r["id"]: json.loads(r["decision"]) for r in rows if r["kind"] == "decision"}
    posts = {k: d for k, d in on_spark.items() if d["subject"] == "post"}
    assert posts.keys() == local.keys() and local
    for did, d in local.items():
        assert [a["action"] for a in posts[did]["actions"]] == [a["action"] for a in d["actions"]], did
        assert all(abs(posts[did]["scores"][k] - v) <= 1e-6 for k, v in d["scores"].items()), did
    assert not [r for r in rows if r["kind"] == "quarantine"]


def test_a_bad_status_in_a_page_is_quarantined_alone(tmp_path: Path) -> None:
    """A line holding a page of statuses, one of them broken: that status is quarantined with its line, the
    others are decided (as the reader quarantines it in ``bastion scan``)."""
    page = json.loads((SOCIAL / "tweepy-v1-user-timeline.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert isinstance(page, list) and len(page) > 2
    del page[1]["user"]  # a status without its author
    p = tmp_path / "page.jsonl"
    p.write_text(json.dumps(page) + "\n", encoding="utf-8")
    rows = Scorer(Config(now=NOW, detectors=DETECTORS, format="twitter_v1")).score_lines([(str(p), 1, p.read_text())])
    quarantined = [r for r in rows if r["kind"] == "quarantine"]
    decided = [r for r in rows if r["kind"] == "decision"]
    assert len(quarantined) == 1 and quarantined[0]["line"] == 1 and quarantined[0]["file"] == str(p)
    assert len(decided) == len(page) - 1
    res = CliRunner().invoke(app, ["scan", str(p), "--format", "twitter_v1", "--db", f"sqlite:///{tmp_path / 'b.db'}",
                                   "--detectors", DETECTORS, "--quarantine", str(tmp_path / "q.jsonl"), "--quiet",
                                   "--workers", "1"])
    assert res.exit_code == 0, res.output
    q = json.loads((tmp_path / "q.jsonl").read_text().splitlines()[0])
    assert (q["line"], q["reason"]) == (quarantined[0]["line"], quarantined[0]["reason"])


def test_detectors_with_state_are_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shipped detector runs on Spark (the stateful ones as the job's own stages); a plugin that keeps
    state across posts has no stage there and is refused by name."""
    from collections.abc import Sequence

    from bastion import catalogue
    from bastion.detector import Detector, PostContext
    from bastion.signals import Signal

    class Counting(Detector):
        name = "counting"

        def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
            return [() for _ in batch]

    monkeypatch.setitem(catalogue._REGISTRY, "counting", Counting)  # registered for this test only
    with pytest.raises(InputError, match="counting"):
        Scorer(Config(now=NOW, detectors="lexicon,counting"))
    staged = Scorer(Config(now=NOW, detectors="lexicon,account_risk,campaign,ban_evasion"))
    assert staged.accounts is not None and staged.campaign is not None and staged.evasion is not None


SINK_PARAMS = {"case_id", "severity", "assets", "sink_error"}  # what the security sink adds


def _no_sink_params(action: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in action.items() if k not in SINK_PARAMS}


@needs_spark
def test_spark_and_scan_make_the_same_decisions_on_the_sample(spark: Any, tmp_path: Path) -> None:
    from bastion.spark.job import read_decisions, scan

    summary = scan(spark, [str(SAMPLE)], tmp_path / "out", Config(now=NOW, detectors=DETECTORS))
    res = CliRunner().invoke(app, ["scan", str(SAMPLE), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--detectors",
                                   DETECTORS, "--out", str(tmp_path / "scan.jsonl"), "--quiet", "--workers", "1"])
    assert res.exit_code == 0, res.output
    local = {d["decision_id"]: d for d in map(json.loads, (tmp_path / "scan.jsonl").read_text().splitlines())}
    decided = {d["decision_id"]: d for d in read_decisions(spark, tmp_path / "out")}
    on_spark = {k: d for k, d in decided.items() if d["subject"] == "post"}
    assert summary["decisions"] == len(decided) and summary["quarantined"] == 0 and len(local) > 20
    assert set(on_spark) == set(local)  # deterministic ids: post, content, policy version
    # reports are decided too, as scan decides them (scan --out holds post decisions; its store holds the rest)
    import sqlite3

    with sqlite3.connect(tmp_path / "b.db") as c:
        reports = {i: json.loads(a) for i, a in c.execute("select id, actions from decisions "
                                                          "where subject_kind = 'report'")}
    on_spark_reports = {k: d for k, d in decided.items() if d["subject"] == "report"}
    assert set(on_spark_reports) == set(reports) and len(reports) == 2
    for did, actions in reports.items():
        assert [a["action"] for a in on_spark_reports[did]["actions"]] == [a["action"] for a in actions], did
    for did, d in local.items():
        s = on_spark[did]
        # the same actions with the same parameters; only what the act stage's sinks add locally (a case id)
        # is not made on Spark, which writes decisions and carries out no effects
        assert [_no_sink_params(a) for a in s["actions"]] == [_no_sink_params(a) for a in d["actions"]], did
        assert s["scores"].keys() == d["scores"].keys()
        assert all(abs(s["scores"][k] - v) <= 1e-6 for k, v in d["scores"].items()), did
    assert any(d["actions"] for d in local.values())  # the sample does trigger rules
    assert (tmp_path / "out" / "_summary.json").is_file()
    assert set(summary["seconds"]) == {"read_score_chain", "write"}  # the phases' wall times, for sizing


@needs_spark
def test_spark_quarantine_matches_scan(spark: Any, tmp_path: Path) -> None:
    from bastion.spark.job import scan

    p = _bad_lines(tmp_path)
    out = tmp_path / "out"
    summary = scan(spark, [str(p)], out, Config(now=NOW, detectors=DETECTORS))
    res = CliRunner().invoke(app, ["scan", str(p), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--detectors",
                                   DETECTORS, "--quarantine", str(tmp_path / "q.jsonl"), "--quiet"])
    assert res.exit_code == 0, res.output
    local = [json.loads(x) for x in (tmp_path / "q.jsonl").read_text().splitlines()]
    spark_q = [json.loads(x) for f in sorted((out / "quarantine").glob("part-*")) for x in f.read_text().splitlines()]
    key = lambda q: (q["line"], q.get("field"), q["reason"])  # noqa: E731
    assert sorted(map(key, spark_q)) == sorted(map(key, local)) and len(local) == 2
    assert summary["lines"] == 5 and summary["decisions"] == 2 and summary["quarantined"] == 2


@needs_spark
def test_lines_are_numbered_per_file_across_the_blocks_spark_splits_it_into(spark: Any, tmp_path: Path) -> None:
    from bastion.spark.job import _numbered

    big, small = tmp_path / "big.jsonl", tmp_path / "d" / "small.jsonl"
    small.parent.mkdir()
    big.write_text("".join(f"line {n} " + "x" * (n % 37) + "\n" for n in range(1, 3001)), encoding="utf-8")
    small.write_text("one\n\nthree\n", encoding="utf-8")
    conf = spark.conf
    saved = {k: conf.get(k) for k in ("spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes")}
    conf.set("spark.sql.files.maxPartitionBytes", "4096")  # ~10 blocks for the big file
    conf.set("spark.sql.files.openCostInBytes", "0")
    try:
        df = _numbered(spark, [str(big), str(small.parent)])
        assert df.rdd.getNumPartitions() > 5
        rows = df.collect()
    finally:
        for k, v in saved.items():
            conf.set(k, v)
    got = sorted((r["file"], r["line"], r["text"]) for r in rows)
    want = sorted([(str(big), n, t) for n, t in enumerate(big.read_text().splitlines(), 1)]
                  + [(str(small), n, t) for n, t in enumerate(small.read_text().splitlines(), 1)])
    assert got == want  # the file as given, or found in the directory; every line once, numbered from 1


@needs_spark
def test_a_post_read_twice_is_one_decision_row(spark: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from bastion.spark.job import scan
    from bastion.spark.manifest import verify

    copy = tmp_path / "copy.jsonl"
    shutil.copy(SAMPLE, copy)
    once = scan(spark, [str(SAMPLE)], tmp_path / "once", Config(now=NOW, detectors=DETECTORS))
    twice = scan(spark, [str(SAMPLE), str(copy)], tmp_path / "twice", Config(now=NOW, detectors=DETECTORS))
    ids = pq.read_table(tmp_path / "twice" / "decisions").column("id").to_pylist()
    assert len(ids) == len(set(ids)) == twice["decisions"] == once["decisions"]
    assert twice["lines"] == 2 * once["lines"] and twice["merkle_root"] == once["merkle_root"]
    assert verify(tmp_path / "twice") == []


@needs_spark
def test_a_rerun_writes_the_same_rows(spark: Any, tmp_path: Path) -> None:
    from bastion.spark.job import read_decisions, scan

    cfg = Config(now=NOW, detectors=DETECTORS)
    scan(spark, [str(SAMPLE)], tmp_path / "a", cfg)
    scan(spark, [str(SAMPLE)], tmp_path / "b", cfg)
    a = sorted(json.dumps(d, sort_keys=True) for d in read_decisions(spark, tmp_path / "a"))
    b = sorted(json.dumps(d, sort_keys=True) for d in read_decisions(spark, tmp_path / "b"))
    assert a == b


def test_every_version_of_a_post_is_decided_wherever_its_lines_fall(tmp_path: Path) -> None:
    """The one documented difference from ``bastion scan``: scan dedupes a batch by post id, so a second version
    in the same batch is not decided (in a later batch it is); a Spark task decides each (id, content) once, so
    the result does not depend on how the input is split."""
    p = tmp_path / "versions.jsonl"
    p.write_text("\n".join(json.dumps({"type": "post", "id": "p1", "account_id": "a", "text": t})
                           for t in ("first version", "second version", "first version")) + "\n", encoding="utf-8")
    lines = [(str(p), n, t) for n, t in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)]
    rows = Scorer(Config(now=NOW, detectors=DETECTORS)).score_lines(lines)
    assert [r["subject_id"] for r in rows if r["kind"] == "decision"] == ["p1", "p1"]
    assert len({r["id"] for r in rows}) == 2
    res = CliRunner().invoke(app, ["scan", str(p), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--detectors",
                                   DETECTORS, "--out", str(tmp_path / "scan.jsonl"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "scan.jsonl").read_text().splitlines()) == 1  # scan: one batch, first version only


def test_a_partition_chain_and_root_change_with_any_decision() -> None:
    from bastion.spark.manifest import chain, merkle_root

    rows = [("d1", '{"a": 1}'), ("d2", '{"a": 2}')]
    n, head = chain("2026-01-02", rows)
    assert n == 2 and chain("2026-01-02", list(reversed(rows))) == (n, head)  # id order, not input order
    assert chain("2026-01-02", [rows[0], ("d2", '{"a": 3}')])[1] != head
    assert chain("2026-01-03", rows)[1] != head  # the date is part of the chain
    assert merkle_root([head, head]) != merkle_root([head])


@needs_spark
def test_audit_verify_spark_catches_edits_and_removals(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bastion.spark.job import scan

    out = tmp_path / "out"
    summary = scan(spark, [str(SAMPLE)], out, Config(now=NOW, detectors=DETECTORS))
    ok = CliRunner().invoke(app, ["audit", "verify", "--spark", str(out)])
    assert ok.exit_code == 0, ok.output
    assert summary["merkle_root"] in ok.output

    # edit one decision in place: its partition's chain no longer matches
    part = next(p for p in sorted((out / "decisions").glob("date=*/*.parquet")) if pq.read_table(p).num_rows)
    table = pq.read_table(part)
    decisions = table.column("decision").to_pylist()
    decisions[0] = decisions[0].replace('"actions": [', '"actions": [ ', 1) if '"actions": [' in decisions[0] \
        else decisions[0] + " "
    pq.write_table(table.set_column(table.schema.get_field_index("decision"), "decision",
                                    pa.array(decisions, pa.string())), part)
    bad = CliRunner().invoke(app, ["audit", "verify", "--spark", str(out)])
    assert bad.exit_code != 0 and "chain head" in bad.output, bad.output

    # remove a whole partition
    scan(spark, [str(SAMPLE)], out, Config(now=NOW, detectors=DETECTORS))
    shutil.rmtree(next((out / "decisions").glob("date=*")))
    gone = CliRunner().invoke(app, ["audit", "verify", "--spark", str(out)])
    assert gone.exit_code != 0 and "missing from decisions/" in gone.output, gone.output


@needs_spark
def test_the_stream_is_exactly_once_across_restarts(spark: Any, tmp_path: Path) -> None:
    """Structured Streaming on a file source: each run (``availableNow``) takes only the files that arrived
    since the checkpoint; nothing is lost or written twice; the decisions equal the batch job's."""
    from bastion.spark.job import read_decisions, read_stream, scan, stream

    inbox, out, ckpt = tmp_path / "inbox", tmp_path / "stream", tmp_path / "ckpt"
    inbox.mkdir()
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    cfg = Config(now=NOW, detectors=DETECTORS)
    (inbox / "part-1.jsonl").write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    first = stream(spark, out, ckpt, cfg, path=str(inbox))
    after_one, _ = read_stream(spark, out)
    again = stream(spark, out, ckpt, cfg, path=str(inbox))  # restart, nothing new
    assert again["input_rows"] == 0 and first["input_rows"] == 1  # one file: one row
    (inbox / "part-2.jsonl").write_text("\n".join(lines[30:]) + "\n{broken\n", encoding="utf-8")
    stream(spark, out, ckpt, cfg, path=str(inbox))
    decided, quarantined = read_stream(spark, out)
    rows = spark.read.parquet(str(out)).where("kind = 'decision'").count()
    assert rows == len(decided) > len(after_one)  # no decision written twice
    assert [(q["line"], q["reason"][:8]) for q in quarantined] == [(len(lines) - 30 + 1, "bad JSON")]
    assert quarantined[0]["file"].endswith("part-2.jsonl")

    scan(spark, [str(SAMPLE)], tmp_path / "batch", cfg)
    batch = {d["decision_id"]: d for d in read_decisions(spark, tmp_path / "batch")}
    assert {d["decision_id"]: d for d in decided} == batch


@needs_spark
def test_the_stream_loads_each_micro_batch_into_the_store_exactly_once(spark: Any, tmp_path: Path) -> None:
    """``spark stream --db``: the micro-batches go into the store as ``bastion scan`` stores the same posts
    (decisions, review jobs, the case); a restart adds nothing, and a micro-batch retried after a crash (its
    run left unfinished) stores nothing twice, its quarantined line included."""
    import sqlite3

    from bastion.spark.job import stream
    from bastion.spark.load import StreamSink
    from bastion.spark.score import SPARK_SCHEMA

    inbox, ckpt, db = tmp_path / "inbox", tmp_path / "ckpt", tmp_path / "stream.db"
    inbox.mkdir()
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    cfg = Config(now=NOW, detectors=DETECTORS)
    url = f"sqlite:///{db}"
    (inbox / "part-1.jsonl").write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    first = stream(spark, None, ckpt, cfg, path=str(inbox), db=url)
    (inbox / "part-2.jsonl").write_text("\n".join(lines[30:]) + "\n{broken\n", encoding="utf-8")
    stream(spark, None, ckpt, cfg, path=str(inbox), db=url)
    loaded = _counts(db)
    again = stream(spark, None, ckpt, cfg, path=str(inbox), db=url)  # restart, nothing new
    assert first["input_rows"] == 1 and again["input_rows"] == 0 and _counts(db) == loaded

    local_db = tmp_path / "scan.db"
    res = CliRunner().invoke(app, ["scan", str(SAMPLE), "--db", f"sqlite:///{local_db}", "--detectors", DETECTORS,
                                   "--quiet", "--workers", "1"])
    assert res.exit_code == 0, res.output
    local = _counts(local_db)
    for key in ("post_decisions", "report_decisions", "post_review_jobs", "review_jobs", "cases", "reports"):
        assert loaded[key] == local[key], key
    with sqlite3.connect(db) as c:
        assert c.execute("select line, substr(reason, 1, 8) from quarantine").fetchall() == [
            (len(lines) - 30 + 1, "bad JSON")]
        runs = c.execute("select id from runs where finished_at is not null order by id").fetchall()
        (name,) = c.execute("select file from quarantine").fetchone()  # the file as the stream names it
    assert len(runs) == 2  # one run per micro-batch

    # micro-batch 1 again, as Spark retries it when the checkpoint had not recorded it: its run unfinished
    part2 = inbox / "part-2.jsonl"
    rows = Scorer(cfg).score_lines([(name, n, t) for n, t in
                                    enumerate(part2.read_text(encoding="utf-8").splitlines(), 1)])
    from bastion.spark.score import frame

    batch = spark.createDataFrame(frame(rows), SPARK_SCHEMA)
    with sqlite3.connect(db) as c:
        c.execute("update runs set finished_at = null where id = ?", runs[1])
    sink = StreamSink(url, "native", str(ckpt.resolve()))
    try:
        sink(batch, 1)
        sink(batch, 1)  # and once more: now finished, skipped
    finally:
        sink.close()
    assert _counts(db) == loaded and sink.loaded == 1
    with sqlite3.connect(db) as c:
        assert c.execute("select count(*) from quarantine").fetchone()[0] == 1


def _counts(db: Path) -> dict[str, Any]:
    import sqlite3

    with sqlite3.connect(db) as c:
        return {
            "post_decisions": sorted(r[0] for r in c.execute("select id from decisions where subject_kind='post'")),
            "report_decisions": sorted(r[0] for r in c.execute(
                "select id from decisions where subject_kind='report'")),
            "reports": c.execute("select count(*) from reports").fetchone()[0],
            "post_review_jobs": sorted(r[0] for r in c.execute(
                "select r.decision_id from review_jobs r join decisions d on d.id = r.decision_id "
                "where d.subject_kind = 'post'")),
            "review_jobs": sorted(r[0] for r in c.execute("select decision_id from review_jobs")),
            "cases": c.execute("select count(*) from threat_cases").fetchone()[0],
            "ledger": c.execute("select count(*) from ledger").fetchone()[0],
            "posts": c.execute("select count(*) from posts").fetchone()[0],
        }


@needs_spark
def test_spark_load_stores_what_scan_stores_exactly_once(spark: Any, tmp_path: Path) -> None:
    """Loading a Spark job's output opens the same cases and review jobs and stores the same post decisions as
    ``bastion scan`` with the same detectors; loading it again adds nothing; the audit chain holds the
    manifest's Merkle root; a tampered output is refused."""
    from bastion.spark.job import scan

    out = tmp_path / "out"
    summary = scan(spark, [str(SAMPLE)], out, Config(now=NOW, detectors=DETECTORS))
    db = tmp_path / "spark.db"
    first = CliRunner().invoke(app, ["spark", "load", str(out), "--db", f"sqlite:///{db}"])
    assert first.exit_code == 0, first.output
    loaded = _counts(db)
    again = CliRunner().invoke(app, ["spark", "load", str(out), "--db", f"sqlite:///{db}"])
    assert again.exit_code == 0, again.output
    assert _counts(db) == loaded  # nothing twice

    local_db = tmp_path / "scan.db"
    res = CliRunner().invoke(app, ["scan", str(SAMPLE), "--db", f"sqlite:///{local_db}", "--detectors", DETECTORS,
                                   "--quiet", "--workers", "1"])
    assert res.exit_code == 0, res.output
    local = _counts(local_db)
    assert loaded["post_decisions"] == local["post_decisions"] and loaded["cases"] == local["cases"] == 1
    assert loaded["post_review_jobs"] == local["post_review_jobs"] and loaded["post_review_jobs"]
    # reports: stored, decided and their review jobs opened as scan does
    assert loaded["report_decisions"] == local["report_decisions"] and loaded["reports"] == local["reports"] == 2
    assert loaded["review_jobs"] == local["review_jobs"]

    ok = CliRunner().invoke(app, ["audit", "verify", "--db", f"sqlite:///{db}"])
    assert ok.exit_code == 0, ok.output
    import sqlite3

    with sqlite3.connect(db) as c:
        finishes = [json.loads(p) for (p,) in c.execute("select payload from audit_log where event='run.finish'")]
    assert [f["spark_manifest"]["merkle_root"] for f in finishes] == [summary["merkle_root"]] * 2

    (out / "manifest.json").write_text((out / "manifest.json").read_text().replace('"count": ', '"count": 1'))
    refused = CliRunner().invoke(app, ["spark", "load", str(out), "--db", f"sqlite:///{db}"])
    assert refused.exit_code != 0 and "does not match its manifest" in refused.output


@needs_spark
def test_spark_load_is_idempotent_on_each_backend(spark: Any, db_url: str, tmp_path: Path) -> None:
    """The production path: loading into PostgreSQL (and SQLite) twice leaves every table as after once."""
    from sqlalchemy import text

    from bastion.spark.job import scan
    from bastion.spark.load import load
    from bastion.store.db import open_engine

    out = tmp_path / "out"
    scan(spark, [str(SAMPLE)], out, Config(now=NOW, detectors=DETECTORS))
    tables = ("posts", "decisions", "review_jobs", "ledger", "threat_cases", "threat_case_items")

    def counts() -> dict[str, int]:
        eng = open_engine(db_url)
        try:
            with eng.connect() as c:
                return {t: int(c.execute(text(f"select count(*) from {t}")).scalar() or 0) for t in tables}
        finally:
            eng.dispose()

    first = load(out, db_url)
    once = counts()
    second = load(out, db_url)
    assert counts() == once and once["decisions"] == first["decisions"] == second["decisions"] > 20
    assert once["threat_cases"] == 1 and once["review_jobs"] > 0


@needs_spark
def test_parquet_input_is_decided_as_its_json_lines(spark: Any, tmp_path: Path) -> None:
    from bastion.spark.job import read_decisions, scan

    posts = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines()
             if x.strip() and json.loads(x).get("type") == "post"]
    as_lines = tmp_path / "posts.jsonl"
    as_lines.write_text("\n".join(json.dumps(p) for p in posts) + "\n", encoding="utf-8")
    # the platform's Parquet: the same records with a schema inferred over all of them (media structs too)
    spark.read.json(str(as_lines)).write.parquet(str(tmp_path / "pq"))
    scan(spark, [str(as_lines)], tmp_path / "a", Config(now=NOW, detectors=DETECTORS))
    scan(spark, [str(tmp_path / "pq")], tmp_path / "b", Config(now=NOW, detectors=DETECTORS, format="parquet"))
    a = {d["decision_id"]: (d["scores"], d["actions"]) for d in read_decisions(spark, tmp_path / "a")}
    b = {d["decision_id"]: (d["scores"], d["actions"]) for d in read_decisions(spark, tmp_path / "b")}
    assert a == b and len(a) == len(posts)


def test_no_java_is_a_clear_error_before_any_jvm(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from bastion.errors import DependencyError
    from bastion.spark.job import session

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DependencyError, match="no Java runtime"):
        session("local[1]")


def test_a_local_jvm_gets_a_quarter_of_the_memory_not_sparks_one_gigabyte() -> None:
    from bastion.spark.job import local_heap

    gib = 2**30
    assert (local_heap(24 * gib), local_heap(2 * gib), local_heap(128 * gib)) == ("6g", "1g", "8g")


@needs_spark
def test_the_local_session_runs_with_that_heap(spark: Any) -> None:
    import os

    from bastion.spark.job import local_heap

    if "SPARK_DRIVER_MEMORY" in os.environ:
        pytest.skip("the heap is the operator's (SPARK_DRIVER_MEMORY)")
    assert spark.sparkContext.getConf().get("spark.driver.memory") == local_heap()
