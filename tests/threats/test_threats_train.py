"""Training and evaluating the stance model: labels from functionalities and classes, template-disjoint
cross-validation, the model file the detector loads, and the per-functionality report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.detector import PostContext
from bastion.records import AccountId, Post, PostId
from bastion.threats import evaluate as ev
from bastion.threats import train as tr
from bastion.threats.detector import ThreatDetector

# A schematic functional suite: two templates per functionality, a few fillers each.
TEMPLATES: dict[str, list[str]] = {
    "threat_direct": ["We will kill the {t} tonight.", "I am going to shoot the {t}."],
    "threat_incitement": ["Brothers, stab the {t}.", "Go and burn the {t} office down."],
    "report_news": ["Police said a man threatened to kill the {t}.", "The court heard he vowed to shoot the {t}."],
    "negated": ["We will never hurt the {t}.", "Nobody here wants to kill the {t}."],
    "idiom_hyperbole": ["The {t} killed it on stage.", "This heat is killing the {t} lol."],
}
FILLERS = ["moderators", "staff", "journalists", "engineers", "admins", "reporters"]


def suite() -> list[dict[str, Any]]:
    rows = []
    for func, templates in TEMPLATES.items():
        for k, tpl in enumerate(templates):
            for filler in FILLERS:
                rows.append({"id": f"s:{func}:{k}:{filler}", "dataset": "threat-functional", "lang": "en",
                             "class": "threat" if func.startswith("threat") else "no_threat",
                             "text": tpl.format(t=filler),
                             "meta": {"functionality": func, "template": f"en.{func}.{k}"}})
    return rows


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_labels_from_functionality_and_class() -> None:
    lab = tr.label_record({"id": "1", "text": "x", "class": "threat",
                           "meta": {"functionality": "threat_veiled", "template": "t1"}})
    assert lab is not None and (lab.stance, lab.form, lab.group) == ("issue", "veiled", "t1")
    news = tr.label_record({"id": "2", "text": "x", "class": "news_terror", "dataset": "pheme"})
    assert news is not None and news.stance == "report"
    # real posts that may hold threats are never negatives
    assert tr.label_record({"id": "3", "text": "x", "class": "hateful", "dataset": "tweeteval-hate"}) is None
    assert tr.label_record({"id": "4", "text": "x", "class": "pro_isis", "dataset": "fifthtribe"}) is None


def test_read_labelled_filters_licences(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", [
        {"id": "a", "text": "kill", "class": "ordinary", "dataset": "tweeteval-emoji"},
        {"id": "b", "text": "kill", "class": "ordinary", "dataset": "astd"},  # GPL: not for a shipped model
    ])
    assert [r.id for r in tr.read_labelled([data], datasets=tr.PERMISSIVE)] == ["a"]
    assert len(tr.read_labelled([data])) == 2


def cv_with_spy(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> tuple[list[float], list[list[Any]]]:
    """Out-of-fold scores of ``rows``, and the records each fold's model was fitted on."""
    examples = [ev.Example(r["id"], r["text"], int(r["class"] == "threat"), "en", r["dataset"],
                           r["meta"].get("functionality", "ordinary"), r) for r in rows]
    fitted: list[list[Any]] = []
    real_fit = tr.fit

    def spy(records: Any, feats: Any, **kw: Any) -> Any:
        fitted.append(list(records))
        return real_fit(records, feats, **kw)

    monkeypatch.setattr(ev, "fit", spy)
    return ev.score_cv(examples, 3, seed=1), fitted


def test_cv_never_splits_a_template(monkeypatch: pytest.MonkeyPatch) -> None:
    scores, fitted = cv_with_spy(monkeypatch, suite())
    seen = [{r.group for r in records} for records in fitted]
    assert len(scores) == len(suite()) and len(seen) == 3
    groups = {r["meta"]["template"] for r in suite()}
    for train_groups in seen:
        held_out = groups - train_groups
        assert held_out and not (held_out & train_groups)


def test_cv_trains_on_what_the_detector_closes_but_does_not_score_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A post the detector's second gate closes (a bounty with no one to harm) is training data in every fold,
    as in the shipped recipe, and keeps the closed score when its fold is scored, as in a scan."""
    bounty = {"id": "b1", "text": "$500 for whoever finds my cat", "class": "ordinary", "dataset": "tweeteval-emoji",
              "meta": {"account": "b"}}
    scores, fitted = cv_with_spy(monkeypatch, [*suite(), bounty])
    assert sum(any(r.id == "b1" for r in records) for records in fitted) == 2  # the folds that do not hold it
    from bastion.threats.detector import UNGATED
    assert scores[-1] == UNGATED


def test_train_writes_a_model_the_detector_loads(tmp_path: Path) -> None:
    data = write(tmp_path / "suite.jsonl", suite())
    model = tmp_path / "m.json"
    res = CliRunner().invoke(app, ["train", "threat", "--data", str(data), "--out", str(model), "--C", "2",
                                   "--version", "test-1"])
    assert res.exit_code == 0, res.output
    meta = json.loads(model.read_text(encoding="utf-8"))["meta"]
    assert meta["version"] == "test-1" and meta["data"][0]["sha256"] and meta["gate"]["threats"] == 24
    det = ThreatDetector(model=str(model))
    assert det.version.endswith("test-1")
    sigs = det.detect([PostContext(Post(id=PostId("p"), account_id=AccountId("a"),
                                        text="We will kill the editors tonight."))])[0]
    assert sigs[0].value >= 0.5


def test_eval_by_functionality_and_cv(tmp_path: Path) -> None:
    data = write(tmp_path / "suite.jsonl", suite())
    out = tmp_path / "r.json"
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "threat", "--data", str(data), "--by", "functionality", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "functionality" in res.output and "threat_direct" in res.output
    rep = json.loads(out.read_text())
    cells = rep["by_functionality"]["en"]
    assert set(cells) == set(TEMPLATES)
    assert cells["threat_direct"] == {"n": 12, "flagged": cells["threat_direct"]["flagged"], "class": "threat"}
    assert cells["report_news"]["class"] == "no_threat"
    res = runner.invoke(app, ["eval", "threat", "--data", str(data), "--cv", "3", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "grouped CV" in json.loads(out.read_text())["model"]
    bad = runner.invoke(app, ["eval", "threat", "--data", str(data), "--by", "colour"])
    assert bad.exit_code != 0


def test_eval_threat_on_plain_labels(tmp_path: Path) -> None:
    rows = [("en", "d1", "threat", "I will kill you tomorrow"), ("en", "d1", "no_threat", "nice day"),
            ("en", "d1", "no_threat", "I could kill for a coffee"), ("de", "d2", "threat", "Ich bringe dich um"),
            ("de", "d2", "no_threat", "schönes Wetter heute"), ("ar", "d3", "threat", "سأقتلك"),
            ("ar", "d3", "no_threat", "صباح الخير")]
    data = write(tmp_path / "d.jsonl", [{"id": str(i), "lang": lang, "dataset": ds, "class": c, "text": t}
                                         for i, (lang, ds, c, t) in enumerate(rows)])
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["eval", "threat", "--data", str(data), "--json", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert rep["n"] == {"ar": 2, "de": 2, "en": 3} and rep["auc"]["overall"] == 1.0
    assert "by_functionality" not in rep
