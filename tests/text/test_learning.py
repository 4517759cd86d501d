"""The learning loop (issue #18): active sampling into the learning queue, fine-tuning on people's labels,
and the model registry with shadow scoring, promotion and rollback. Texts are schematic tokens."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.errors import InputError, PolicyError
from bastion.pipeline.build import build_pipeline, iter_inputs
from bastion.policy.loader import load_policy
from bastion.policy.model import Action, Decision, LearningSpec, Subject
from bastion.review.learning import RULE, LearningSampler, cluster_key
from bastion.review.model import sla_for
from bastion.settings import Settings
from bastion.signals import Signal
from bastion.store import schema as t
from bastion.store.db import open_engine
from bastion.text import registry
from bastion.text.finetune import LabelSet, earned_threshold, fine_tune, label_examples
from bastion.text.model import TextModel

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
DEFAULT_POLICY = resources.files("bastion.policy").joinpath("default.yaml").read_text(encoding="utf-8")


def decision(pid: str, review: bool = False) -> Decision:
    actions = (Action("review", "propaganda-review@1", "default@1", params={"queue": "propaganda"}),) if review else ()
    return Decision(f"d-{pid}", Subject.POST, pid, "acct", NOW, {}, (), actions, (), "", None, {})


def sig(p: float, lang: str = "en") -> dict[str, Signal]:
    return {"propaganda": Signal("propaganda", p, "propaganda", "m", details={"lang": lang})}


def sampler(budget: int, **kw: object) -> LearningSampler:
    return LearningSampler(LearningSpec(daily_budget=budget, **kw), "default@1")  # type: ignore[arg-type]


def picked(decisions: list[Decision]) -> list[str]:
    return [d.subject_id for d in decisions if any(a.rule == RULE for a in d.actions)]


def test_the_sampler_takes_the_closest_to_the_threshold_within_budget_and_not_what_people_see_anyway() -> None:
    s = sampler(2, around=0.6, reviewed=False)
    ds = [decision("far"), decision("near"), decision("nearer"), decision("routed", review=True), decision("mid")]
    signals = {"far": sig(0.01), "near": sig(0.5), "nearer": sig(0.58), "routed": sig(0.59), "mid": sig(0.3)}
    texts = {k: (f"word{k} other{k} third{k}", "en") for k in signals}
    out = s.pick(ds, signals, texts, NOW)
    assert picked(out) == ["near", "nearer"]
    job = next(a for a in out[2].actions if a.rule == RULE)
    assert job.params["queue"] == "learning" and job.params["priority"] == 9
    assert "near 0.6" in out[2].explanation
    assert picked(s.pick([decision("x")], {"x": sig(0.6)}, {"x": ("xx yy zz", "en")}, NOW)) == []  # spent
    nxt = s.pick([decision("x")], {"x": sig(0.6)}, {"x": ("xx yy zz", "en")}, NOW + timedelta(days=1))
    assert picked(nxt) == ["x"]  # a new day, a new budget
    assert picked(sampler(0).pick(ds, signals, texts, NOW)) == []  # budget 0 turns it off
    assert sla_for("learning") == timedelta(days=7) > sla_for("propaganda")  # never ahead of policy queues


def test_by_default_it_samples_near_the_removal_threshold_posts_in_review_included_never_enforced_ones() -> None:
    s = sampler(5)
    enforced = replace(decision("removed"), actions=(Action("remove_post", "r@1", "default@1"),))
    ds = [decision("reviewed", review=True), enforced, decision("low"), decision("sure")]
    signals = {"reviewed": sig(0.9), "removed": sig(0.95), "low": sig(0.3), "sure": sig(0.9999)}
    texts = {k: (f"w{k} x{k} y{k}", "en") for k in signals}
    assert picked(sampler(5).pick(ds, signals, texts, NOW)) == ["reviewed"]
    assert s.spec.around == 0.95 and s.spec.reviewed


def test_near_duplicates_and_one_language_do_not_take_the_whole_budget() -> None:
    s = sampler(4, max_language_share=0.5, around=0.6)
    ids = ["a", "b", "c", "d", "e", "f"]
    texts = {"a": ("same words here http://x.co/1", "en"), "b": ("RT @u: same words here http://x.co/2", "en"),
             "c": ("other text entirely", "en"), "d": ("third english post", "en"),
             "e": ("arabic stand one", "ar"), "f": ("arabic stand two", "ar")}
    assert cluster_key(texts["a"][0]) == cluster_key(texts["b"][0]) != cluster_key(texts["c"][0])
    out = s.pick([decision(i) for i in ids], {i: sig(0.55) for i in ids}, texts, NOW)
    got = picked(out)
    assert len(got) == 4 and not {"a", "b"} <= set(got)  # one post per cluster
    assert sum(texts[i][1] == "en" for i in got) == 2  # half the budget per language once two are seen


def test_the_random_strategy_samples_every_post_alike() -> None:
    s = sampler(2, strategy="random")
    ds = [decision("a", review=True), decision("b"), decision("c")]
    out = s.pick(ds, {"a": sig(0.99), "b": sig(0.01), "c": sig(0.5)},
                 {"a": ("one two three", "en"), "b": ("four five six", "en"), "c": ("seven eight nine", "en")}, NOW)
    assert picked(out) == ["a", "b"]  # arrival order, routed or not, whatever the score


def test_the_policy_learning_section_is_checked(tmp_path: Path) -> None:
    text = DEFAULT_POLICY
    good = tmp_path / "p.yaml"
    good.write_text(text + "\nlearning:\n  daily_budget: 50\n  around: 0.7\n", encoding="utf-8")
    spec = load_policy(good).learning
    assert (spec.daily_budget, spec.around, spec.queue, spec.reviewed) == (50, 0.7, "learning", True)
    assert load_policy().learning.daily_budget == 0  # off unless a deployment sets a budget
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "\nlearning:\n  daily_budget: -1\n  around: 1.5\n  strategy: greedy\n  colour: red\n"
                   "  reviewed: maybe\n", encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(bad)
    msg = str(err.value)
    assert "daily_budget" in msg and "around" in msg and "strategy" in msg and "colour" in msg
    assert "reviewed must be true or false" in msg


def corpus(tmp_path: Path, n: int = 40) -> Path:
    rows = [{"id": f"q{i}", "dataset": "ops", "class": "ordinary", "lang": "en",
             "text": f"amaq wilayat token{i} update {i} news{i % 7}", "meta": {"account": f"a{i % 9}"}}
            for i in range(n)]
    path = tmp_path / "stream.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_a_scan_fills_the_learning_queue_within_the_daily_budget(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEFAULT_POLICY
                      + "\nlearning:\n  daily_budget: 3\n  strategy: random\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'b.db'}"
    settings = Settings(db_url=db, policy=str(policy), detectors="propaganda", workers=1, batch_size=10)
    pipeline, _ = build_pipeline(settings, bulk=True)
    src = corpus(tmp_path)
    pipeline.run(iter_inputs([src], "corpus"), inputs=[str(src)])
    engine = open_engine(db)
    with engine.connect() as conn:
        jobs = conn.execute(select(t.review_jobs.c.subject_id, t.review_jobs.c.priority)
                            .where(t.review_jobs.c.queue == "learning")).all()
    assert len(jobs) == 3 and {j.priority for j in jobs} == {9}
    again, _ = build_pipeline(settings, bulk=True)  # a restarted scan knows today's budget is spent
    assert again.sampler is not None and again.sampler._day.taken == 3
    engine.dispose()


def labelled(n: int) -> list[dict[str, object]]:
    """Review labels: 'zqxmark' posts upheld, 'newsmark' posts people said are journalism or not violating."""
    rows: list[dict[str, object]] = []
    for i in range(n):
        rows.append({"id": f"v{i}", "label": "violating", "source": "review", "queue": "propaganda",
                     "text": f"zqxmark alpha{i % 5} beta{i % 3}", "group": f"g{i % 8}", "lang": "en"})
        rows.append({"id": f"n{i}", "label": "journalism" if i % 2 else "not_violating", "source": "review",
                     "queue": "propaganda", "text": f"newsmark gamma{i % 5} delta{i % 3}", "group": f"h{i % 8}",
                     "lang": "ar" if i % 3 == 0 else "en"})
    rows.append({"id": "s1", "label": "violating", "source": "review", "queue": "security", "text": "other"})
    return rows


def test_labels_map_to_classes_and_other_queues_teach_nothing() -> None:
    ls = label_examples(labelled(4))
    assert ls.skipped == 1  # the security queue's decision says nothing about propaganda
    assert {e.label for e in ls.examples} == {"pro_isis", "news_terror", "not_violating"}
    assert ls.sources["review:pro_isis"] == 4 and len(ls.digest) == 64
    audit = {"id": "a1", "label": "violating", "source": "review", "queue": "propaganda-audit", "text": "x"}
    assert len(label_examples([audit]).examples) == 1  # a sampled audit of a removal rule teaches too


def test_fine_tuning_moves_the_current_model_towards_the_labels_and_writes_its_card() -> None:
    base = TextModel.load("default")
    ls = label_examples(labelled(40), origin="test")
    model = fine_tune(base, ls, version="t-1")
    texts = ["zqxmark alpha1 beta2", "newsmark gamma1 delta2"]
    before, _ = base.score(texts)
    after, _ = model.score(texts)
    assert after[0] - after[1] > before[0] - before[1] + 0.2  # the labelled contrast is learned
    moved = np.flatnonzero(model.propaganda.weights != base.propaganda.weights)
    assert 0 < len(moved) < 0.01 * len(base.propaganda.weights)  # only the labels' own features move
    card = model.meta["card"]
    assert card["base_version"] == base.version and card["labels"]["n"] == 80
    assert card["labels"]["by_source_and_class"]["review:pro_isis"] == 40
    v = card["validation"]
    assert v["folds"] >= 2 and v["new"]["auc"] >= v["base"]["auc"] and v["new"]["auc"] > 0.9
    assert v["earn"] == {"precision": 0.99, "least": 100}
    assert set(v["new"]["earned"]) == {"threshold", "precision", "recall", "flagged"}  # too few labels to earn
    with pytest.raises(InputError):
        fine_tune(base, LabelSet([]))


def test_removal_is_earned_down_to_where_precision_first_fails_never_past_a_dip() -> None:
    # 150 violating, 1 not, 50 violating, 5 not, 20 violating: scores falling in that order
    y = np.array([True] * 150 + [False] + [True] * 50 + [False] * 5 + [True] * 20)
    p = np.linspace(1.0, 0.0, len(y))
    got = earned_threshold(y, p, 0.99, 100)
    assert got["flagged"] == 202 and got["precision"] == 0.9901  # 200 of 202; the 203rd post is the second miss
    assert got["threshold"] == round(float(p[201]), 6)
    assert earned_threshold(y, p, 0.99, 300)["threshold"] is None  # never 300 flagged at that precision
    # without the walk only the whole removal counts: 200 of 202, then 220 of 226 (0.973): still 202
    assert earned_threshold(y, p, 0.99, 100, walk=False)["flagged"] == 202
    dip = np.array([True] * 98 + [False, False] + [True] * 200)  # 98 of the first 100, 298 of all 300
    assert earned_threshold(dip, np.linspace(1, 0, 300), 0.99, 100)["threshold"] is None
    assert earned_threshold(dip, np.linspace(1, 0, 300), 0.99, 100, walk=False)["flagged"] == 300
    assert earned_threshold(y, p, 0.95, 100)["flagged"] == len(y)  # 221 of 226 = 0.978: earned all the way
    tied = np.array([0.9] * 120 + [0.5] * 10)  # a threshold takes a run of equal scores whole: 118 of 120
    assert earned_threshold(np.array([True] * 118 + [False] * 2 + [True] * 10), tied, 0.99, 100)["threshold"] is None
    assert earned_threshold(np.zeros(5, dtype=bool), np.ones(5), 0.99, 1)["threshold"] is None


def test_train_text_with_labels_writes_a_model_and_its_card(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(r) for r in labelled(30)) + "\n", encoding="utf-8")
    out = tmp_path / "m.npz"
    r = CliRunner().invoke(app, ["train", "text", "--labels", str(labels), "--out", str(out), "--version", "ops-1"])
    assert r.exit_code == 0, r.output
    assert "60 labels (1 skipped)" in r.output
    assert TextModel.load(out).version == "ops-1"
    assert "review:pro_isis | 30" in out.with_suffix(".card.md").read_text(encoding="utf-8")


def audit_events(engine: object) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return [(r.event, r.subject) for r in conn.execute(
            select(t.audit_log.c.event, t.audit_log.c.subject).where(t.audit_log.c.event.like("model.%"))
            .order_by(t.audit_log.c.seq))]


def test_registry_shadow_promote_rollback_each_one_audited_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    base = TextModel.load("default")
    a = fine_tune(base, label_examples(labelled(20)), version="ops-a").save(tmp_path / "a.npz")
    b = fine_tune(base, label_examples(labelled(30)), version="ops-b").save(tmp_path / "b.npz")
    runner = CliRunner()
    for path in (a, b):
        assert runner.invoke(app, ["models", "register", str(path), "--db", db]).exit_code == 0
    assert runner.invoke(app, ["models", "promote", "ops-a", "--db", db, "--actor", "admin:kim"]).exit_code == 0
    assert runner.invoke(app, ["models", "shadow", "ops-b", "--db", db]).exit_code == 0
    engine = open_engine(db)
    assert {r["version"]: r["status"] for r in registry.list_models(engine)} == {"ops-a": "live", "ops-b": "shadow"}

    # a run scores with the live model and records the shadow model's scores, which no rule reads
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({"id": "x1", "dataset": "ops", "class": "ordinary", "text": "zqxmark alpha1 beta1"})
                   + "\n", encoding="utf-8")
    pipeline, _ = build_pipeline(Settings(db_url=db, detectors="propaganda", workers=1), bulk=True)
    got: list[Decision] = []
    pipeline.on_decision = got.append
    pipeline.run(iter_inputs([src], "corpus"), inputs=[str(src)])
    [d] = got
    assert d.versions["models"] == {"propaganda": "ops-a", "reporting": "ops-a", "propaganda_shadow": "ops-b",
                                    "reporting_shadow": "ops-b"}
    assert d.scores["propaganda_shadow"] != d.scores["propaganda"]
    assert not any("shadow" in a.rule for a in d.actions)
    with engine.connect() as conn:
        stored = conn.execute(select(t.decisions.c.scores).where(t.decisions.c.id == d.id)).scalar_one()
    assert stored["propaganda_shadow"] == d.scores["propaganda_shadow"]

    # compare on labelled posts: both models' precision and recall, and the live outcomes that would change
    rows = labelled(10)
    report = registry.compare(rows, TextModel.load(a), TextModel.load(b))
    assert report["posts"] == 20 and set(report["models"]) == {"live", "shadow"}
    assert report["models"]["live"]["review"]["recall"] is not None
    assert report["changed"]["total"] == sum(report["changed"]["by_class"].values())
    assert report["models"]["shadow"]["earned"]["threshold"] is None  # 20 labels earn no removal at 0.99/100
    loose = registry.compare(rows, TextModel.load(a), TextModel.load(b), earn=(0.5, 20))
    assert loose["models"]["shadow"]["earned"]["flagged"] == 20  # half of them violating: earned all the way

    # compare --queue reads only that queue's labels (e.g. a sampled audit of what a removal rule would take)
    from bastion.review import labels as review_labels

    with engine.begin() as conn:
        assert review_labels.record(conn, post_id="x1", label="violating", source="review", ref="r-audit-1",
                                    decided_at=datetime.now(UTC), queue="propaganda-audit")
    for queue, posts in (("propaganda-audit", 1), ("learning", 0)):
        out = tmp_path / f"compare-{queue}.json"
        res = runner.invoke(app, ["models", "compare", "--db", db, "--queue", queue, "--json", str(out)])
        assert res.exit_code == 0, res.output
        assert json.loads(out.read_text(encoding="utf-8"))["posts"] == posts

    assert runner.invoke(app, ["models", "promote", "ops-b", "--db", db]).exit_code == 0
    assert runner.invoke(app, ["models", "rollback", "--db", db]).exit_code == 0
    assert {r["version"]: r["status"] for r in registry.list_models(engine)}["ops-a"] == "live"
    assert audit_events(engine) == [("model.register", "ops-a"), ("model.register", "ops-b"),
                                    ("model.promote", "ops-a"), ("model.shadow", "ops-b"),
                                    ("model.promote", "ops-b"), ("model.rollback", "ops-b")]
    assert registry.list_models(engine)[1]["status"] == "rolled_back"
    r = runner.invoke(app, ["audit", "verify", "--db", db])
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["models", "rollback", "--db", db]).exit_code == 0  # back to the shipped model
    assert registry.live_and_shadow(engine)[0] is None
    engine.dispose()
    assert np.isfinite(TextModel.load(a).propaganda.weights).all()


def test_policy_check_refuses_a_rule_on_a_shadow_models_score(tmp_path: Path) -> None:
    rule = ("  - id: act-on-shadow\n    description: x\n    category: STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY\n"
            "    when: {signal: propaganda_shadow, gte: 0.9}\n    effects: [remove_post]\n")
    text = DEFAULT_POLICY.replace("rules:\n", "rules:\n" + rule, 1)
    bad = tmp_path / "shadow.yaml"
    bad.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["policy", "check", str(bad)])
    assert r.exit_code != 0 and "shadow model's score" in r.output, r.output


def test_policy_check_names_a_learning_signal_no_detector_emits(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(DEFAULT_POLICY + "\nlearning:\n  daily_budget: 10\n  signal: propganda\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["policy", "check", str(bad)])
    assert r.exit_code != 0 and "learning.signal" in r.output and "propganda" in r.output, r.output
