"""``bastion train text`` and ``bastion eval text`` end to end on a schematic corpus."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app


def test_train_then_eval(corpus_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "m.npz"
    res = runner.invoke(app, ["train", "text", "--data", str(corpus_file), "--out", str(model),
                              "--datasets", "all", "--bits", "16"])
    assert res.exit_code == 0, res.output
    assert model.is_file()
    out, md = tmp_path / "r.json", tmp_path / "r.md"
    res = runner.invoke(app, ["eval", "text", "--data", str(corpus_file), "--model", str(model),
                              "--json", str(out), "--md", str(md)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert rep["n"]["pro_isis"] == 60
    assert set(rep["auc"]["vs"]) == {"news_terror", "ordinary", "about_isis"}
    assert set(rep["fpr_at_recall"]) == {"0.5", "0.8", "0.9"}
    assert rep["posts_per_s"] > 0 and rep["auc"]["overall"] > 0.9
    assert "Worst false positives" in md.read_text()


def test_eval_cv(corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "cv.json"
    res = CliRunner().invoke(app, ["eval", "text", "--data", str(corpus_file), "--cv", "3", "--json", str(out),
                                   "--train-datasets", "permissive", "--bits", "16"])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert "cross-validation" in rep["mode"] and rep["auc"]["overall"] is not None


def test_errors_exit_codes(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["eval", "text", "--data", str(tmp_path / "missing.jsonl"), "--json",
                                   str(tmp_path / "x.json")])
    assert res.exit_code != 0
