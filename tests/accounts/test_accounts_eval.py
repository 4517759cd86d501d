import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from bastion.accounts.evaluation import run
from bastion.accounts.evaluation.data import load_corpus
from bastion.accounts.evaluation.risk_eval import assign_folds, threshold_at
from bastion.accounts.evaluation.scores import make_source
from bastion.catalogue import build
from bastion.detector import Detector, PostContext
from bastion.errors import ConfigError
from bastion.signals import Signal

# Schematic rows: positives carry organisation/slogan tokens only; negatives are everyday chatter.
POS_TEXT = ["dawlah baqiyah statement {n}", "RT @{peer}: wilayah update {n}", "khilafah dawlah notice {n}"]
NEG_TEXT = ["football match tonight {n}", "rain again in the city {n}", "new recipe for soup {n}"]


def write_corpus(path: Path) -> Path:
    rows: list[dict[str, Any]] = []
    pos = [f"supporter{i}" for i in range(8)] + ["famx_01", "famx_02"]
    for i, acct in enumerate(pos):
        meta = {"account": acct, "name": "Famx Voice" if acct.startswith("famx") else f"Person {i}",
                "description": "28th account" if acct == "famx_02" else "", "location": ""}
        for n in range(6):
            day = 1 + (20 if acct == "famx_02" else 0) + n
            rows.append({"id": f"p:{acct}:{n}", "dataset": "fifthtribe", "class": "pro_isis",
                         "text": POS_TEXT[n % 3].format(n=n, peer=pos[(i + 1) % 8]),
                         "meta": {**meta, "time": f"1/{day}/2016 10:{n:02d}"}})
    for i in range(24):
        for n in range(1 + i % 3):
            rows.append({"id": f"n:{i}:{n}", "dataset": "isextreme", "class": "keyword_mentions",
                         "text": NEG_TEXT[(i + n) % 3].format(n=n),
                         "meta": {"account": f"citizen{i}", "time": f"2/{1 + n}/2018 9:0{n}:00"}})
    for i in range(30):
        rows.append({"id": f"o:{i}", "dataset": "tweeteval-emoji", "class": "ordinary",
                     "text": NEG_TEXT[i % 3].format(n=i)})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    data = write_corpus(tmp_path / "corpus.jsonl")
    fams = tmp_path / "families.json"
    fams.write_text(json.dumps({"families": {"famx": ["famx_01", "famx_02"], "gone": ["missing1", "missing2"]}}))
    return data, fams


def test_corpus_rebuilds_accounts_in_order(files: tuple[Path, Path]) -> None:
    corpus = load_corpus(files[0])
    assert len(corpus.accounts) == 10 + 24
    first = corpus.ordered()[0]
    assert first.label == "pro_isis" and first.posts[0].created_at is not None
    fam2 = corpus.accounts["famx_02"]
    assert fam2.registration.bio == "28th account"
    assert [p.created_at for p in fam2.posts] == sorted(p.created_at for p in fam2.posts)  # type: ignore[type-var]
    folds = assign_folds(corpus, "pro_isis", 5)
    assert sorted({folds[a] for a in corpus.accounts if corpus.accounts[a].label == "pro_isis"}) == [0, 1, 2, 3, 4]


def test_threshold_at_budget() -> None:
    import numpy as np

    neg = np.array([0.1] * 98 + [0.5, 0.9])
    t = threshold_at(neg, 0.01)
    assert (neg >= t).mean() <= 0.01 and t <= 0.9


def test_run_reports_the_interface_keys(files: tuple[Path, Path]) -> None:
    report = run(files[0], files[1], folds=5)
    be, acc = report["ban_evasion"], report["accounts"]
    for key in ("reregistrations", "recall_at_1", "mrr", "false_links_per_100"):
        assert key in be
    assert be["reregistrations"] == 1 and be["recall_at_1"] == 1.0 and be["mrr"] == 1.0
    assert be["families_missing_from_data"] == ["missing1", "missing2"]
    for key in ("n_pos", "n_neg", "auc", "recall_at_1pct", "median_posts_to_flag"):
        assert key in acc
    assert acc["n_pos"] == 10 and acc["n_neg"] == 24
    assert acc["auc"] > 0.9
    assert set(acc["ablations"]) == {"posts_only", "posts_profile", "posts_network"}


def test_cli_eval_accounts(files: tuple[Path, Path], tmp_path: Path) -> None:
    from bastion.cli.main import app

    out = tmp_path / "out" / "acc.json"
    res = CliRunner().invoke(app, ["eval", "accounts", "--data", str(files[0]), "--families", str(files[1]),
                                   "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert {"ban_evasion", "accounts"} <= set(doc)
    missing = CliRunner().invoke(app, ["eval", "accounts", "--data", str(tmp_path / "nope.jsonl"),
                                       "--families", str(files[1])])
    assert missing.exit_code != 0


class StandIn(Detector):
    """Keys on one schematic token, like the real propaganda detector's interface."""

    name: ClassVar[str] = "standin_prop"
    signals: ClassVar[tuple[str, ...]] = ("propaganda", "reporting")

    def detect(self, batch: Sequence[PostContext]) -> Sequence[Sequence[Signal]]:
        return [(Signal("propaganda", 0.97 if "dawlah" in c.post.text else 0.02, self.name, "0"),
                 Signal("reporting", 0.0, self.name, "0")) for c in batch]


def test_detector_signal_source(files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion import catalogue as registry

    monkeypatch.setitem(registry._REGISTRY, "standin_prop", StandIn)  # removed again after the test
    corpus = load_corpus(files[0])
    src = make_source("detectors:standin_prop", build)
    scores = src.score(corpus, {}, "pro_isis")
    assert scores["p:supporter0:0"]["propaganda"].value == 0.97
    assert scores["n:0:0"]["propaganda"].value == 0.02
    with pytest.raises(ConfigError):
        make_source("nonsense")
