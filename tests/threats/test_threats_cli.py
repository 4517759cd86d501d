"""``bastion eval threat`` writes the report the acceptance checks read; ``bastion case`` commands work on a
store the security sink filled."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.detector import PostContext
from bastion.records import AccountId, Post, PostId
from bastion.store.db import open_engine
from bastion.threats.detector import ThreatDetector
from bastion.threats.sink import SecuritySink

ROWS = [
    ("en", "d1", "threat", "I will kill you"), ("en", "d1", "no_threat", "nice day"),
    ("en", "d1", "no_threat", "I could kill for a coffee"), ("de", "d2", "threat", "Ich bring dich um"),
    ("de", "d2", "no_threat", "schönes Wetter heute"), ("ar", "d3", "threat", "اذبحك"),
    ("ar", "d3", "no_threat", "صباح الخير"),
]


def test_eval_threat_json(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "lang": lang, "dataset": ds, "class": c, "text": t},
                                       ensure_ascii=False) + "\n" for i, (lang, ds, c, t) in enumerate(ROWS)),
                    "utf-8")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["eval", "threat", "--data", str(data), "--model", "default", "--json", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert rep["n"] == {"ar": 2, "de": 2, "en": 3}
    assert set(rep["auc"]["by_lang"]) == {"ar", "de", "en"} and set(rep["auc"]["by_dataset"]) == {"d1", "d2", "d3"}
    assert rep["auc"]["overall"] == 1.0
    assert {"threshold", "precision", "recall"} <= set(rep["operating_point"])


def test_eval_threat_without_the_posts_languages(tmp_path: Path) -> None:
    # "Frauen sollte man erschießen" tagged German is read in German; untagged, the analyser has to vote its
    # language from its words - --no-lang measures that, as a platform that sends no language tags would see it
    data = tmp_path / "d.jsonl"
    rows = [("de", "threat", "Frauen sollte man erschießen."), ("de", "no_threat", "Schönes Wetter heute.")]
    data.write_text("".join(json.dumps({"id": str(i), "lang": lang, "dataset": "d", "class": c, "text": t},
                                       ensure_ascii=False) + "\n" for i, (lang, c, t) in enumerate(rows)), "utf-8")
    for flags in ([], ["--no-lang"]):
        out = tmp_path / "r.json"
        res = CliRunner().invoke(app, ["eval", "threat", "--data", str(data), "--json", str(out), *flags])
        assert res.exit_code == 0, res.output
        rep = json.loads(out.read_text())
        assert rep["operating_point"]["recall"] == 1.0, flags
        assert ("no language given" in rep["model"]) == bool(flags)
    res = CliRunner().invoke(app, ["eval", "threat", "--data", str(data), "--no-lang", "--cv", "2"])
    assert res.exit_code != 0 and "--no-lang" in res.output


def test_case_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    sink = SecuritySink(open_engine(db))
    p = Post(id=PostId("p1"), account_id=AccountId("a1"), text="we will kill Twitter staff in San Francisco")
    ctx = PostContext(p)
    ctx.signals.update({s.name: s for s in ThreatDetector().detect([ctx])[0]})
    case_id = sink.perform(None, None, ctx)["case_id"]
    runner = CliRunner()
    res = runner.invoke(app, ["case", "list", "--db", db, "--json"])
    assert res.exit_code == 0 and case_id in res.output
    res = runner.invoke(app, ["case", "show", case_id, "--db", db, "--actor", "analyst"])
    assert res.exit_code == 0 and "p1" in res.output
    res = runner.invoke(app, ["case", "export", case_id, "--db", db, "--out", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["case", "verify", str(tmp_path / "x" / case_id)])
    assert res.exit_code == 0 and "OK" in res.output
    (tmp_path / "x" / case_id / "custody.jsonl").write_text("{}\n", "utf-8")
    res = runner.invoke(app, ["case", "verify", str(tmp_path / "x" / case_id)])
    assert res.exit_code != 0
