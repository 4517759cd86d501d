"""Media on Spark (``--detectors ...,media``): the tasks match media against the banks without counting floods,
and the flood stage counts them per bank entry over the whole job, as the detector's one flood guard does in
``bastion scan``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.spark.score import Config

NOW = "2026-12-05T00:00:00+00:00"
DETECTORS = "lexicon,media"
BANKED = "659d867986791866186761966187869b871c5aeb78546babe5c69e561e3ba554"  # a benign stand-in image's PDQ


def _near(bit: int) -> str:
    """The banked hash with one bit flipped: a distinct item within the bank's threshold."""
    return f"{int(BANKED, 16) ^ (1 << bit):064x}"


def _setup(tmp_path: Path) -> tuple[Path, str]:
    bank = tmp_path / "bank.json"
    bank.write_text(json.dumps({"format": "bastion.bank/1", "bank": {
        "name": "test-bank", "negative": False, "pdq_threshold": 31, "min_quality": 50, "vpdq_query_ratio": 0.8,
        "vpdq_target_ratio": 0.0, "enabled_ratio": 1.0, "flood_limit": 3, "flood_window_s": 3600.0}}) + "\n"
        + json.dumps({"signal_type": "pdq", "signal": BANKED, "labels": {"confidence": 1.0, "opinion": "positive"},
                      "status": "active"}) + "\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'banks.db'}"
    res = CliRunner().invoke(app, ["bank", "import", str(bank), "--create", "--db", db])
    assert res.exit_code == 0, res.output
    # schematic: six posts of distinct near copies ten minutes apart, one repost of the first (the same item),
    # then an ordinary post; the bank allows three distinct items an hour
    posts = [(f"p{i}", _near(i), i * 10) for i in range(6)] + [("again", _near(0), 65)]
    lines = [{"type": "post", "id": pid, "account_id": f"u{pid}", "text": "[schematic] picture",
              "created_at": f"2015-02-01T12:{minute:02d}:00Z",
              "media": [{"id": f"m-{pid}", "kind": "image", "pdq": pdq}]} for pid, pdq, minute in posts[:-1]]
    lines.append({"type": "post", "id": "again", "account_id": "ua", "text": "[schematic] picture",
                  "created_at": "2015-02-01T12:59:00Z", "media": [{"id": "m-again", "kind": "image",
                                                                    "pdq": _near(0)}]})
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path, db


def test_a_flooding_bank_entry_is_quarantined_as_scan_quarantines_it(spark: Any, tmp_path: Path) -> None:
    from bastion.spark.job import read_decisions, scan
    from bastion.spark.manifest import verify

    path, db = _setup(tmp_path)
    with sqlite3.connect(tmp_path / "banks.db") as src, sqlite3.connect(tmp_path / "load.db") as dst:
        src.backup(dst)  # the banks as the job read them (WAL included), to load the job's output into
    summary = scan(spark, [str(path)], tmp_path / "out", Config(now=NOW, detectors=DETECTORS, db_url=db))
    on_spark = {d["id"]: d for d in read_decisions(spark, tmp_path / "out")}
    # bastion scan afterwards (its flood pauses the entry in the database the Spark job read)
    res = CliRunner().invoke(app, ["scan", str(path), "--db", db, "--detectors", DETECTORS, "--quiet",
                                   "--workers", "1"])
    assert res.exit_code == 0, res.output
    with sqlite3.connect(tmp_path / "banks.db") as c:
        local = {pid: (json.loads(sc), json.loads(a)) for pid, sc, a in c.execute(
            "select subject_id, scores, actions from decisions where subject_kind = 'post'")}
    assert set(on_spark) == set(local) == {"p0", "p1", "p2", "p3", "p4", "p5", "again"}
    for pid, (scores, actions) in local.items():
        s = on_spark[pid]
        assert abs(s["scores"]["media_match"] - scores["media_match"]) <= 1e-6, pid
        assert [a["action"] for a in s["actions"]] == [a["action"] for a in actions], pid
    # three distinct items count as evidence (the repost of the first is the same item); the fourth floods
    matched = {pid for pid, d in on_spark.items() if d["scores"]["media_match"] > 0}
    assert matched == {"p0", "p1", "p2"}
    assert summary["floods"] == 1
    flood = json.loads(next((tmp_path / "out" / "floods").glob("part-*")).read_text())
    assert (flood["distinct_items"], flood["window_s"]) == (4, 3600.0)
    assert verify(tmp_path / "out") == []
    # spark load pauses the entry and opens its review job, once however often it loads
    from bastion.spark.load import load

    for _ in range(2):
        assert load(tmp_path / "out", f"sqlite:///{tmp_path / 'load.db'}")["floods"] == 1
    with sqlite3.connect(tmp_path / "load.db") as c:
        assert [s for (s,) in c.execute("select status from media_bank_entries")] == ["quarantined"]
        assert c.execute("select count(*) from review_jobs where queue = 'media-bank-flood'").fetchone()[0] == 1
