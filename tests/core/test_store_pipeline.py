"""The store (SQLite and PostgreSQL) and the pipeline: idempotent writes, detector failures, effects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from sqlalchemy import Engine, func, select

from bastion import catalogue as registry
from bastion.batch import Batch
from bastion.detector import Detector, PostContext
from bastion.pipeline.runtime import Pipeline, ScanStats
from bastion.policy.engine import PolicyEngine
from bastion.policy.loader import load_policy
from bastion.records import Account, AccountId, Post, PostId
from bastion.signals import Signal
from bastion.store import schema as t
from bastion.store.writer import Store

T0 = datetime(2015, 2, 1, tzinfo=UTC)


class KeywordDetector(Detector):
    """Test detector: 'propaganda' = 0.99 when the text contains KEYWORD, raises on 'BOOM'."""

    name: ClassVar[str] = "kw"
    signals: ClassVar[tuple[str, ...]] = ("propaganda", "reporting")
    version = "t1"

    def detect(self, batch: Sequence[PostContext]) -> list[list[Signal]]:
        out = []
        for ctx in batch:
            if "BOOM" in ctx.post.text:
                raise RuntimeError("cannot parse")
            hit = 0.99 if "KEYWORD" in ctx.post.text else 0.01
            out.append([Signal("propaganda", hit, self.name, self.version),
                        Signal("reporting", 0.9 if "reported" in ctx.post.text else 0.1, self.name, self.version)])
        return out


def post(i: str, text: str, account: str = "a1") -> Post:
    return Post(id=PostId(i), account_id=AccountId(account), text=text, created_at=T0)


def make_pipeline(engine: Engine, detectors: list[Detector] | None = None) -> Pipeline:
    policy = load_policy(None).promote(["propaganda-remove"])  # text-based removal, as a deployment may enable
    return Pipeline(engine=PolicyEngine(policy), detectors=detectors or [], store=Store(engine), clock=lambda: T0)


def count(engine: Engine, table: t.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_same_post_twice_is_one_post_and_account_updates(engine: Engine) -> None:
    pipe = make_pipeline(engine)
    stats = ScanStats()
    v1 = Account(id=AccountId("a1"), handle="old", updated_at=T0)
    v2 = Account(id=AccountId("a1"), handle="new", updated_at=T0.replace(day=2))
    pipe.process(Batch(posts=[post("p1", "hello"), post("p1", "hello")], accounts=[v1]), stats)
    pipe.process(Batch(posts=[post("p1", "hello")], accounts=[v2]), stats)
    pipe.process(Batch(accounts=[v1]), stats)  # an older version does not overwrite a newer one
    assert count(engine, t.posts) == 1
    assert count(engine, t.decisions) == 1  # the rescan makes the same decision, stored once
    assert stats.posts_duplicate == 2
    with engine.connect() as conn:
        assert conn.execute(select(t.accounts.c.handle)).scalar_one() == "new"
        assert conn.execute(select(t.accounts.c.first_post_at)).scalar_one() == T0


def test_a_run_quarantines_a_line_once_however_often_its_batch_is_written(engine: Engine) -> None:
    """A retried batch (a stream's micro-batch loaded again after a crash) keeps one quarantine row per line;
    another run quarantining the same line has its own row."""
    from bastion.ingest.base import Quarantined

    pipe = make_pipeline(engine)
    bad = [Quarantined(file="in.jsonl", line=3, reason="bad JSON"), Quarantined(file="in.jsonl", line=7,
                                                                                reason="missing field")]
    pipe.process(Batch(quarantined=bad), ScanStats(run_id="run_a"))
    pipe.process(Batch(quarantined=[*bad, Quarantined(file="in.jsonl", line=9, reason="x")]),
                 ScanStats(run_id="run_a"))
    pipe.process(Batch(quarantined=bad[:1]), ScanStats(run_id="run_b"))
    with engine.connect() as conn:
        rows = sorted((r[0], r[1]) for r in conn.execute(select(t.quarantine.c.run_id, t.quarantine.c.line)))
    assert rows == [("run_a", 3), ("run_a", 7), ("run_a", 9), ("run_b", 3)]


def test_detector_failure_degrades_one_signal_not_the_decision(engine: Engine) -> None:
    pipe = make_pipeline(engine, [KeywordDetector()])
    decisions = pipe.process(Batch(posts=[post("ok", "KEYWORD here"), post("bad", "BOOM")]), ScanStats())
    by_id = {d.subject_id: d for d in decisions}
    assert [a.action for a in by_id["ok"].actions][:1] == ["remove_post"]
    assert by_id["bad"].actions == ()
    assert "RuntimeError: cannot parse" in by_id["bad"].explanation
    assert any(s.get("unavailable") for s in by_id["bad"].signals)
    assert count(engine, t.decisions) == 2


def test_effects_reach_ledger_review_queue_and_status(engine: Engine) -> None:
    pipe = make_pipeline(engine, [KeywordDetector()])
    pipe.process(Batch(posts=[post("x", "KEYWORD"), post("news", "KEYWORD reported by agencies")]), ScanStats())
    with engine.connect() as conn:
        ledger = conn.execute(select(t.ledger.c.action, t.ledger.c.target_id)).all()
        jobs = conn.execute(select(t.review_jobs.c.queue, t.review_jobs.c.subject_id)).all()
        removed = conn.execute(select(t.posts.c.id).where(t.posts.c.removed_at.is_not(None))).scalars().all()
    assert ("remove_post", "x") in ledger and ("remove_post", "news") not in ledger
    assert ("propaganda-qa", "x") in jobs and ("propaganda", "news") in jobs  # reporting goes to people
    assert removed == ["x"]
    with engine.connect() as conn:
        refs = conn.execute(select(t.evidence_refs.c.subject_id, t.evidence_refs.c.role)).all()
        retain = conn.execute(select(t.evidence_blobs.c.retain_until)).scalars().all()
    assert refs == [("x", "removed_content")]  # removed content is preserved as evidence
    assert retain and all(r is not None and (r - T0).days >= 180 for r in retain)


def test_registry_resolves_and_rejects_names() -> None:
    registry.register("kw", KeywordDetector)
    assert isinstance(registry.build(["kw"])[0], KeywordDetector)
    assert registry.parse_names("none") == []
    import pytest

    from bastion.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown detector 'nope'"):
        registry.build(["nope"])


def test_scan_cli_writes_one_object_per_post_and_quarantines(tmp_path: Path, sqlite_url: str) -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app

    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"type": "post", "id": "p1", "account_id": "a", "text": "one"}),
        "{broken",
        json.dumps({"type": "post", "id": "p2", "account_id": "a", "text": "two"}),
    ]) + "\n")
    out = tmp_path / "decisions.jsonl"
    qfile = tmp_path / "q.jsonl"
    res = CliRunner().invoke(app, ["scan", str(src), "--db", sqlite_url, "--detectors", "none", "--out", str(out),
                                   "--quarantine", str(qfile), "-q"])
    assert res.exit_code == 0, res.output
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [r["id"] for r in rows] == ["p1", "p2"]
    for r in rows:
        assert set(r) >= {"id", "account_id", "scores", "labels", "actions", "explanation"}
    (q,) = [orjson.loads(line) for line in qfile.read_bytes().splitlines()]
    assert q["line"] == 2 and "bad JSON" in q["reason"]
    # read = taken + quarantined, on the summary itself (two posts and one broken line)
    summary = {row.split("│")[1].strip(): row.split("│")[2].strip() for row in res.output.splitlines()
               if row.count("│") == 3}
    assert (summary["records read"], summary["taken"], summary["quarantined"]) == ("3", "2", "1")
    again = CliRunner().invoke(app, ["scan", str(src), "--db", sqlite_url, "--detectors", "none",
                                     "--out", str(out), "-q"])
    assert again.exit_code == 0
    assert len(out.read_bytes().splitlines()) == 2  # a rescan still reports every input post


def test_bad_inputs_give_clear_errors(tmp_path: Path, sqlite_url: str) -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app

    res = CliRunner().invoke(app, ["scan", str(tmp_path / "missing.jsonl"), "--db", sqlite_url, "-q"])
    assert res.exit_code == 2 and "no such input file" in res.output
    res = CliRunner().invoke(app, ["scan", "examples/sample-stream.jsonl", "--db", sqlite_url,
                                   "--detectors", "nope", "-q"])
    assert res.exit_code == 2 and "unknown detector" in res.output
    # an --out or --quarantine that cannot be written: one line naming it, no traceback, nothing scanned
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    for opt in ("--out", "--quarantine"):
        res = CliRunner().invoke(app, ["scan", "examples/sample-stream.jsonl", "--db", sqlite_url, "--detectors",
                                       "none", "-q", opt, str(blocked / "out.jsonl")])
        assert res.exit_code == 2, res.output
        assert f"cannot use {blocked / 'out.jsonl'}: Not a directory" in res.output.replace("\n", "")
        assert "Traceback" not in res.output


def test_a_read_only_or_full_database_is_one_line_and_leaves_the_store_consistent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bastion.audit import log as audit
    from bastion.cli.main import app
    from bastion.store import db as store_db
    from bastion.store.db import open_engine

    path = tmp_path / "b.db"
    first = CliRunner().invoke(app, ["scan", "examples/sample-stream.jsonl", "--db", str(path), "-q"])
    assert first.exit_code == 0, first.output
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    res = CliRunner().invoke(app, ["scan", "tests/fixtures/threats/scenario-2014.jsonl", "--db", read_only, "-q"])
    assert res.exit_code == 3, res.output
    assert "database: attempt to write a readonly database" in res.output.replace("\n", " ")
    assert "Traceback" not in res.output
    real = store_db._sqlite_pragmas

    def tiny(dbapi_conn: Any, record: Any, checkpoint_pages: int = 1000) -> None:
        real(dbapi_conn, record, checkpoint_pages)
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk fills up mid-scan

    monkeypatch.setattr(store_db, "_sqlite_pragmas", tiny)
    res = CliRunner().invoke(app, ["scan", "tests/fixtures/threats/scenario-2014.jsonl", "--db", str(path), "-q"])
    assert res.exit_code == 3 and "database or disk is full" in res.output, res.output
    monkeypatch.setattr(store_db, "_sqlite_pragmas", real)
    engine = open_engine(f"sqlite:///{path}")
    try:
        assert audit.verify(engine).ok  # the failed batch left nothing half-written
    finally:
        engine.dispose()


def test_a_bad_database_url_is_one_line_naming_it_without_its_password() -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app

    for url, code, says in (("foo://bar", 2, "no 'foo' database support"),
                            ("mysql://u:hunter2@h/y", 2, "no 'mysql' database support"),
                            ("postgresql://u:hunter2@127.0.0.1:1/x", 3, "cannot open database")):
        res = CliRunner().invoke(app, ["audit", "verify", "--db", url])
        text = " ".join(res.output.split())
        assert res.exit_code == code and says in text, res.output
        assert "Traceback" not in res.output and "hunter2" not in res.output


def test_enforcement_is_observed_in_stream_order() -> None:
    from bastion.pipeline.runtime import batched
    from bastion.records import EnforcementEvent, EnforcementKind, TargetKind

    enf = EnforcementEvent("e", EnforcementKind.SUSPEND, TargetKind.ACCOUNT, "a0", T0)
    early, late = Account(id=AccountId("a1"), handle="x"), Account(id=AccountId("a2"), handle="y")
    batches = list(batched([early, enf, late, post("p", "t")], 100))
    # the account seen before the suspension is checked before it; the one after, after it
    assert [(len(b.accounts), len(b.enforcement), len(b.posts)) for b in batches] == [(1, 0, 0), (1, 1, 1)]


def test_own_suspensions_are_fed_back_to_detectors(engine: Engine) -> None:
    from bastion.records import EnforcementEvent

    seen: list[str] = []

    class Watcher(KeywordDetector):
        def observe(self, records):  # type: ignore[no-untyped-def]
            seen.extend(r.target_id for r in records if isinstance(r, EnforcementEvent))

        def account_signals(self):  # type: ignore[no-untyped-def]
            return {"a9": [Signal("ban_evasion", 0.99, "w", "1")]}

    pipe = make_pipeline(engine, [Watcher()])
    pipe.process(Batch(posts=[post("p", "hello", account="a9")]), ScanStats())
    assert seen == ["a9"]


def test_schema_heads_are_alembics_and_an_up_to_date_database_opens_without_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    from alembic.script import ScriptDirectory

    from bastion.store.db import alembic_config, open_engine, schema_heads

    assert schema_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())
    url = f"sqlite:///{tmp_path / 'heads.db'}"
    open_engine(url).dispose()  # migrates a new database
    probe = ("import sys; from bastion.store.db import open_engine; open_engine(sys.argv[1]).dispose(); "
             "print('alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_migration_closes_duplicate_live_enforcements_and_the_ledger_refuses_new_ones(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import pytest as _pytest
    from alembic import command
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from bastion.store import schema as t
    from bastion.store.attest import outside, tracked
    from bastion.store.db import alembic_config, make_engine, migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    now = datetime(2015, 2, 1, tzinfo=UTC)
    row = {"action": "remove_post", "target_kind": "post", "target_id": "p1", "rule": "r@1", "policy": "p@1",
           "automated": True, "source": "automated", "created_at": now}
    try:
        with engine.begin() as conn:  # a database from before the fix, holding a duplicate removal
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001_core")
            outside(conn)  # written by that old version, before tables were attested
            conn.execute(insert(t.ledger), [{**row, "decision_id": "d1"}, {**row, "decision_id": "d2"}])
        migrate(engine)
        with engine.connect() as conn:
            live = conn.execute(select(t.ledger.c.decision_id).where(t.ledger.c.reversed_at.is_(None))).scalars()
            assert list(live) == ["d1"]
        with _pytest.raises(IntegrityError), engine.begin() as conn, tracked(conn, t.ledger):
            conn.execute(insert(t.ledger), [{**row, "decision_id": "d3"}])
    finally:
        engine.dispose()
