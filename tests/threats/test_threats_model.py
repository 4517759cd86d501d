"""The optional trained layer: fit, calibrate, save and load without pickle, honest cross-validation, and the
CLI commands that train and evaluate it. Data are tiny synthetic rows, not threats."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.errors import DependencyError
from bastion.pipeline.detector import PostContext
from bastion.records import AccountId, Post, PostId
from bastion.threats.detector import ThreatDetector
from bastion.threats.evaluate import Example, report, score_cv
from bastion.threats.model import UNCALIBRATED_SHIFT, ThreatModel

POS = ["we will kill you", "I will shoot them all", "ich bring dich um", "اذبحك", "kill them all now"]
NEG = ["nice day in the park", "schönes Wetter heute", "صباح الخير", "I love this song", "see you tomorrow",
       "the bus is late again", "wir gehen essen", "what a great match"]


def rows(n_pos: int = 20, n_neg: int = 60) -> tuple[list[str], list[int]]:
    rnd = random.Random(0)
    texts = [f"{rnd.choice(POS)} {i}" for i in range(n_pos)] + [f"{rnd.choice(NEG)} {i}" for i in range(n_neg)]
    return texts, [1] * n_pos + [0] * n_neg


def test_fit_calibrates_and_ranks() -> None:
    texts, y = rows()
    m = ThreatModel(n_bits=12).fit(texts, y)
    assert m.calibration_ != (1.0, UNCALIBRATED_SHIFT)  # a Platt scaling was fitted
    p = m.predict_proba(["we will kill you", "nice day in the park"])
    assert 0.0 <= p[1] < p[0] <= 1.0
    assert p[0] > 0.5 > p[1]


def test_uncalibrated_uses_the_fixed_prior_shift() -> None:
    texts, y = rows()
    m = ThreatModel(n_bits=12, calibrate=False).fit(texts, y)
    z = m.decision_function(["we will kill you"])
    assert m.predict_proba(["we will kill you"])[0] == pytest.approx(1 / (1 + np.exp(-(z[0] + UNCALIBRATED_SHIFT))))


def test_save_load_round_trip_without_pickle(tmp_path: Path) -> None:
    texts, y = rows()
    m = ThreatModel(n_bits=12, C=1.0).fit(texts, y)
    path = tmp_path / "m.npz"
    m.save(path)
    with np.load(path, allow_pickle=False) as data:  # arrays only: loads without pickle
        assert json.loads(str(data["header"]))["format"] == "bastion-threat-model/2"
    back = ThreatModel.load(path)
    assert back.get_params() == m.get_params()
    probe = ["I will shoot them all", "wir gehen essen"]
    assert np.allclose(back.predict_proba(probe), m.predict_proba(probe), atol=1e-5)


def test_load_rejects_other_versions(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    header = json.dumps({"format": "bastion-threat-model/1", "params": {}, "rule_features": []})
    np.savez_compressed(path, header=np.array(header), coef=np.zeros(3), intercept=np.zeros(1))
    with pytest.raises(DependencyError):
        ThreatModel.load(path)


def test_cv_is_out_of_fold() -> None:
    """Labels unrelated to the text: in-sample the model memorises them, out of fold it cannot."""
    rnd = random.Random(1)
    ex = [Example(str(i), f"token{i} filler{rnd.randrange(1000)}", int(i % 5 == 0), "en", "d") for i in range(100)]
    texts, y = [e.text for e in ex], [e.label for e in ex]
    in_sample = ThreatModel(n_bits=12, calibrate=False).fit(texts, y).decision_function(texts)
    rep_in = report(ex, [float(v) for v in in_sample], 0.5, "in-sample")
    rep_cv = report(ex, score_cv(ex, 5, n_bits=12, calibrate=False), 0.5, "cv")
    assert rep_in["auc"]["overall"] > 0.95
    assert rep_cv["auc"]["overall"] < 0.75


def test_detector_loads_a_trained_model(tmp_path: Path) -> None:
    texts, y = rows()
    path = tmp_path / "m.npz"
    ThreatModel(n_bits=12).fit(texts, y).save(path)
    det = ThreatDetector(model=str(path))
    assert det.version.endswith("+model")
    threat, _ = det.detect([PostContext(Post(id=PostId("p"), account_id=AccountId("a"), text="nice day"))])[0]
    assert 0.0 <= threat.value < 0.5


def test_cli_train_eval_and_cv(tmp_path: Path) -> None:
    texts, y = rows()
    data = tmp_path / "d.jsonl"
    langs = ["en", "de"]
    data.write_text("".join(json.dumps({"id": str(i), "text": t, "class": "threat" if lab else "no_threat",
                                        "lang": langs[i % 2], "dataset": f"d{i % 2}"}, ensure_ascii=False) + "\n"
                            for i, (t, lab) in enumerate(zip(texts, y, strict=True))), "utf-8")
    runner = CliRunner()
    model = tmp_path / "m.npz"
    res = runner.invoke(app, ["train", "threat", "--data", str(data), "--out", str(model), "--C", "1.0"])
    assert res.exit_code == 0, res.output
    assert model.is_file()
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["eval", "threat", "--data", str(data), "--model", str(model), "--json", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert rep["n"] == {"de": 40, "en": 40}
    assert {"overall", "by_lang", "by_dataset"} <= set(rep["auc"])
    assert {"threshold", "precision", "recall"} <= set(rep["operating_point"])
    cv_out = tmp_path / "cv.json"
    res = runner.invoke(app, ["eval", "threat", "--data", str(data), "--cv", "3", "--no-calibrate",
                                 "--json", str(cv_out)])
    assert res.exit_code == 0, res.output
    cv = json.loads(cv_out.read_text())
    assert "3-fold cross-validated" in cv["model"]
    assert cv["auc"]["overall"] is not None and 0.0 <= cv["recall_at_precision_0.5"]["recall"] <= 1.0
