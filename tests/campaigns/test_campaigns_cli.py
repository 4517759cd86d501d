"""``bastion trends`` and ``bastion eval campaigns`` as the acceptance checks call them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from test_campaigns_eval import corpus
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.errors import InputError

runner = CliRunner()


def test_eval_campaigns_writes_the_report(tmp_path: Path) -> None:
    data = corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out" / "campaigns.json"
    res = runner.invoke(app, ["eval", "campaigns", "--data", str(data), "--json", str(out),
                              "--upstream", "none", "--tick", "60"])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text("utf-8"))
    assert set(rep["bursts"]) >= {"pro_isis", "detected", "median_minutes_to_detect"}
    assert rep["bursts"]["pro_isis"] == 1 and rep["bursts"]["detected"] == 1
    assert all(set(s) >= {"hashtag", "class_mix"} for s in rep["suppressed"])
    assert rep["suppressed_news_or_crisis"] == []
    assert "pro-IS hashtag bursts" in res.output


def test_eval_campaigns_reports_a_missing_file(tmp_path: Path) -> None:
    res = runner.invoke(app, ["eval", "campaigns", "--data", str(tmp_path / "none.jsonl"),
                              "--json", str(tmp_path / "o.json")])
    assert res.exit_code != 0
    assert not (tmp_path / "o.json").exists()


def test_trends_from_candidates_and_from_posts(tmp_path: Path) -> None:
    cands = tmp_path / "cands.json"
    cands.write_text(json.dumps([{"hashtag": "AmaqAgency", "count": 40}, "weather"]), "utf-8")
    out = tmp_path / "d.json"
    res = runner.invoke(app, ["trends", str(cands), "--json", str(out)])
    assert res.exit_code == 0, res.output
    got = {d["hashtag"]: d["action"] for d in json.loads(out.read_text("utf-8"))["decisions"]}
    assert got == {"amaqagency": "suppress", "weather": "allow"}

    posts = corpus(tmp_path / "c.jsonl")
    state = tmp_path / "state.json"
    res = runner.invoke(app, ["trends", "--posts", str(posts), "--at", "2016-02-01T10:08:00Z",
                              "--save-state", str(state), "--json", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text("utf-8"))
    assert {d["hashtag"]: d["action"] for d in rep["decisions"]} == {"ownedtag": "suppress"}
    assert rep["campaigns"] and json.loads(state.read_text("utf-8"))["version"] == 1

    res = runner.invoke(app, ["trends", "--state", str(state), "--at", "2016-02-01T10:08:00Z"])
    assert res.exit_code == 0, res.output
    assert "#ownedtag" in res.output and "suppress" in res.output


def test_trends_input_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{\"count\": 1}]", "utf-8")
    proc = subprocess.run([sys.executable, "-m", "bastion.cli.main", "trends", str(bad)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "candidate 0" in proc.stderr
    res = runner.invoke(app, ["trends", "--state", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 or isinstance(res.exception, InputError)
