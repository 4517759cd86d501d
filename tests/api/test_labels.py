"""The labelled-example store (issue #18, part 1): review decisions and appeal outcomes recorded with
provenance and no identities, imported corpus files, one conflict rule, and the API route, the CLI and
training reading the same store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from seed import World
from sqlalchemy import delete, select
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.review import labels
from bastion.store import schema as t
from bastion.store.labels import labels as L


def rows(world: World) -> list[dict[str, object]]:
    with world.app.state.bastion.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(L).order_by(L.c.decided_at))]


def decide_job(world: World, post_id: str, outcome: str, who: str = "reviewer") -> None:
    c = world.client
    with world.app.state.bastion.engine.connect() as conn:
        job_id = conn.execute(select(t.review_jobs.c.id).where(t.review_jobs.c.subject_id == post_id)).scalar_one()
    assert c.post(f"/v1/review/jobs/{job_id}/lease", headers=world.h(who)).status_code == 200
    r = c.post(f"/v1/review/jobs/{job_id}/decision", json={"outcome": outcome}, headers=world.h(who))
    assert r.status_code == 200, r.text


def test_a_review_decision_is_a_label_with_provenance_and_no_identity(world: World) -> None:
    decide_job(world, "p-remove", "uphold")
    [row] = rows(world)
    assert row["post_id"] == "p-remove" and row["label"] == "violating" and row["source"] == "review"
    assert row["queue"] == "propaganda-qa" and row["policy_version"] and row["model_versions"]
    assert row["text"].startswith("Look at ZZORG")
    assert row["group_key"] and "u-alpha" not in json.dumps(row, default=str)
    assert "ana" not in json.dumps(row, default=str) and "reviewer" not in str(row["ref"])


def test_an_appeal_outcome_beats_the_first_review(world: World) -> None:
    decide_job(world, "p-remove", "uphold")
    c = world.client
    appeal = c.post("/v1/appeals", json={"target_kind": "post", "target_id": "p-remove", "reason": "news"},
                    headers=world.h("integrator")).json()
    r = c.post(f"/v1/appeals/{appeal['id']}/decision", json={"outcome": "overturned"}, headers=world.h("reviewer2"))
    assert r.status_code == 200, r.text
    assert [(r["source"], r["label"]) for r in rows(world)] == [("review", "violating"), ("appeal", "not_violating")]
    [effective] = list(labels.iter_labels(world.app.state.bastion.engine))
    assert effective["label"] == "not_violating" and effective["source"] == "appeal"
    api = [orjson.loads(x) for x in c.get("/v1/review/labels", headers=world.h("admin")).text.splitlines()]
    assert api == [effective]  # the API route reads the same store


def test_the_conflict_rule() -> None:
    """Later human decision wins; at the same instant an appeal beats a review; any human decision here beats
    an imported label, however recent; among imports the later wins."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    class Row:
        def __init__(self, post: str, source: str, label: str, minutes: int) -> None:
            self.post_id, self.source, self.label = post, source, label
            self.decided_at = t0 + timedelta(minutes=minutes)

    chosen = labels.effective([
        Row("a", "review", "violating", 1), Row("a", "review", "not_violating", 2),
        Row("b", "review", "violating", 5), Row("b", "appeal", "not_violating", 5),
        Row("c", "review", "journalism", 1), Row("c", "import", "propaganda", 9),
        Row("d", "import", "news", 1), Row("d", "import", "propaganda", 2)])
    assert {k: v.label for k, v in chosen.items()} == {"a": "not_violating", "b": "not_violating",
                                                        "c": "journalism", "d": "propaganda"}


def test_import_export_stats_and_backfill_through_the_cli(world: World, tmp_path: Path) -> None:
    db = str(world.app.state.bastion.engine.url)
    f = tmp_path / "labels.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": "x1", "dataset": "ops", "class": "propaganda", "text": "schematic one", "lang": "en",
                    "meta": {"account": "acct-9"}}),
        json.dumps({"id": "x2", "class": "news", "text": "schematic two"}),
        "{not json",
        json.dumps({"id": "x3", "class": "news"}),
        json.dumps({"id": "p-remove", "class": "propaganda", "text": "imported view of p-remove"})]) + "\n")
    runner = CliRunner()
    r = runner.invoke(app, ["labels", "import", str(f), "--db", db])
    assert r.exit_code == 0 and "imported 3" in r.output and "skipped 2" in r.output, r.output
    assert "labels.jsonl:3" in r.output and "labels.jsonl:4: missing text" in r.output
    r = runner.invoke(app, ["labels", "import", str(f), "--db", db])
    assert "imported 0, already present 3" in r.output
    decide_job(world, "p-remove", "overturn")  # a decision here beats the imported label on the same post
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["labels", "export", "--out", str(out), "--db", db]).exit_code == 0
    got = {x["id"]: x for x in map(json.loads, out.read_text().splitlines())}
    assert got["p-remove"]["label"] == "not_violating" and got["x1"]["class"] == "propaganda"
    assert got["x1"]["group"] == labels.group_key("acct-9") and got["x1"]["dataset"] == "ops"
    stats = json.loads(runner.invoke(app, ["labels", "stats", "--db", db]).output)
    assert stats["rows"] == 4 and stats["posts"] == 3 and stats["overridden"] == 1
    assert stats["by_source"] == {"import": 2, "review": 1}
    with world.app.state.bastion.engine.begin() as conn:  # a database from before the label store
        conn.execute(delete(L).where(L.c.source == "review"))
    r = runner.invoke(app, ["labels", "backfill", "--db", db])
    assert "recorded 1 labels" in r.output
    assert runner.invoke(app, ["labels", "backfill", "--db", db]).output.strip().startswith("recorded 0")


def test_the_review_ui_and_the_transparency_report_name_the_live_model(world: World, tmp_path: Path) -> None:
    from test_ui import sign_in

    from bastion.text import registry
    from bastion.text.finetune import fine_tune, label_examples
    from bastion.text.model import TextModel

    engine = world.app.state.bastion.engine
    shipped = TextModel.load("default").version
    sign_in(world, "reviewer")
    assert f"Text model live: <b>{shipped}</b> (as shipped)" in world.client.get("/ui/").text
    rows = [{"id": f"v{i}", "label": "violating" if i % 2 else "journalism", "source": "review",
             "queue": "propaganda", "text": f"token{i % 2} schematic {i}", "group": f"g{i}"} for i in range(12)]
    path = fine_tune(TextModel.load("default"), label_examples(rows), version="ops-7").save(tmp_path / "m.npz")
    registry.register_file(engine, path)
    registry.promote(engine, "ops-7", actor="admin:test")
    assert "Text model live: <b>ops-7</b>" in world.client.get("/ui/").text
    report = world.client.get("/v1/transparency/report", headers=world.h("admin")).json()
    assert report["text_model"]["live"]["version"] == "ops-7" and report["text_model"]["live"]["source"] == "registry"


def test_a_decision_on_a_learning_job_settles_the_policy_job_of_the_same_post(world: World) -> None:
    """Active sampling may pick a post already in a policy queue: one person's decision settles both jobs (one
    label, no second review); deciding the policy job first settles the learning job the same way."""
    from bastion.store.attest import tracked

    engine = world.app.state.bastion.engine
    J = t.review_jobs
    with engine.begin() as conn:
        policy_job = conn.execute(select(J).where(J.c.subject_id == "p-remove")).one()
        row = {k: v for k, v in policy_job._mapping.items()}
        row.update(id="job_learning_p_remove", queue="learning", priority=9)
        other = dict(row, id="job_other_decision", queue="reports", decision_id="d-other", priority=2)
        with tracked(conn, J, [row["id"], other["id"]]):
            conn.execute(J.insert().values(**row))
            conn.execute(J.insert().values(**other))
    c = world.client
    assert c.post("/v1/review/jobs/job_learning_p_remove/lease", headers=world.h("reviewer")).status_code == 200
    r = c.post("/v1/review/jobs/job_learning_p_remove/decision", json={"outcome": "journalism"},
               headers=world.h("reviewer"))
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        settled = conn.execute(select(J.c.state, J.c.outcome, J.c.notes).where(J.c.id == policy_job.id)).one()
    assert settled.state == "done" and settled.outcome == "journalism"
    assert settled.notes == "settled by the decision on job_learning_p_remove"
    assert [(x["source"], x["label"], x["queue"]) for x in rows(world)] == [("review", "journalism", "learning")]
    with engine.connect() as conn:  # a job of another decision on the same post is left alone
        assert conn.execute(select(J.c.state).where(J.c.id == "job_other_decision")).scalar_one() == "open"
