"""Features, training, persistence and evaluation on a schematic corpus."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from bastion.errors import DependencyError
from bastion.text.corpus import Example, is_permissive, load_corpus
from bastion.text.evaluate import evaluate, markdown
from bastion.text.features import FeatureConfig, Featurizer
from bastion.text.model import TextModel
from bastion.text.normalize import normalize
from bastion.text.train import TrainParams, cross_validate, train_model

SMALL = TrainParams(n_bits=16, max_iter=50)


def test_features_do_not_depend_on_batch_neighbours() -> None:
    fz = Featurizer(FeatureConfig(n_bits=16))
    texts = ["RT @a: amaq update https://t.co/x", "الدولة الإسلامية", "", "short", "#JeSuisCharlie police said"]
    w = np.random.default_rng(0).normal(size=fz.n_cols).astype(np.float32)
    together = fz.transform(texts).scores(w)
    alone = np.concatenate([fz.transform([t]).scores(w) for t in texts])
    assert np.allclose(together, alone)
    # the sparse matrix and the matrix-free scoring agree
    assert np.allclose(fz.transform(texts).matrix(fz.n_cols) @ w, together, atol=1e-4)


def test_features_see_normalised_text() -> None:
    fz = Featurizer(FeatureConfig(n_bits=16))
    a, b = fz.transform(["DABIQ"]).matrix(fz.n_cols), fz.transform(["Dаbiq"]).matrix(fz.n_cols)
    assert (a != b).nnz <= 4  # only the style block (upper-case share) may differ


def test_mention_roles_keep_reply_addressees_apart() -> None:
    plain = Featurizer(FeatureConfig(n_bits=16, mention_handles=True))
    roles = Featurizer(FeatureConfig(n_bits=16, mention_handles=True, mention_roles=True))
    reply, inline = normalize("@SomeOne good point"), normalize("good point @SomeOne")
    assert plain.model_text(reply).endswith("| @someone") and plain.model_text(inline).endswith("| @someone")
    assert roles.model_text(reply).endswith("| to@someone")
    assert roles.model_text(inline).endswith("| @someone")
    assert roles.model_text(normalize("RT @SomeOne: good point")).endswith("| @someone")
    # a model file without the setting (trained before it existed) keeps the old features
    assert FeatureConfig.from_json({"n_bits": 16, "mention_handles": True}).mention_roles is False


def test_permissive_filter() -> None:
    assert is_permissive("fifthtribe") and is_permissive("tweeteval-emoji") and is_permissive("crisislex-boston")
    assert not is_permissive("aboutisis") and not is_permissive("agnews-world")


def test_train_save_load_roundtrip(corpus_file: Path, tmp_path: Path) -> None:
    examples = load_corpus(corpus_file)
    model = train_model(examples, SMALL, version="test-1")
    assert model.reporting is not None
    path = model.save(tmp_path / "m.npz")
    # plain arrays only: loadable without pickle, no object arrays
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["header.npy", "propaganda_w.npy", "reporting_w.npy"]
    loaded = TextModel.load(path)
    assert loaded.version == "test-1"
    texts = [e.text for e in examples]
    p1, r1 = model.score(texts)
    p2, r2 = loaded.score(texts)
    assert np.allclose(p1, p2, atol=1e-3) and np.allclose(r1, r2, atol=1e-3)
    y = np.array([e.positive for e in examples])
    assert p1[y].mean() > 0.5 > p1[~y].mean()
    assert p1.min() >= 0.0 and p1.max() <= 1.0


def test_load_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(DependencyError):
        TextModel.load(bad)


def test_cross_validation_is_account_disjoint(corpus_file: Path) -> None:
    examples = load_corpus(corpus_file)
    res = cross_validate(examples, 3, SMALL)
    assert np.isfinite(res.decision).all()
    from bastion.text.train import _folds

    for tr, te in _folds(examples, 3, SMALL.seed):
        train_accounts = {examples[i].group for i in tr if examples[i].positive}
        test_accounts = {examples[i].group for i in te if examples[i].positive}
        assert not train_accounts & test_accounts


def test_evaluate_metrics() -> None:
    ex = [Example(str(i), "d", lab, f"t{i}", str(i)) for i, lab in
          enumerate(["pro_isis"] * 4 + ["ordinary"] * 4 + ["news_terror"] * 2)]
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.0, 0.05, 0.2, 0.75, 0.95, 0.01])
    rep = evaluate(ex, scores, worst=3)
    assert rep["n"] == {"news_terror": 2, "ordinary": 4, "pro_isis": 4}
    # recall 0.5 -> threshold 0.8: ordinary none, news one of two
    expected = {"news_terror": 0.5, "ordinary": 0.0, "all_negatives": 1 / 6}
    assert rep["fpr_at_recall"]["0.5"] == pytest.approx(expected, abs=1e-5)
    # recall 0.8 -> 4 positives need ceil(3.2)=4 -> threshold 0.1
    assert rep["fpr_at_recall"]["0.8"]["ordinary"] == 0.5
    assert rep["auc"]["vs"]["ordinary"] == pytest.approx(0.8125)
    assert rep["worst_false_positives"][0]["score"] == 0.95
    assert rep["worst_misses"][0]["score"] == 0.1
    assert "| ordinary | 4 |" in markdown(rep)
