"""Signed checkpoints: every change an insider makes to the database or to an exported log after a checkpoint is
detected against it, and Bastion's own work after it is not."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bastion.audit import checkpoint as cp
from bastion.audit import log as audit
from bastion.audit import signing
from bastion.audit.log import entry_hash
from bastion.cli.main import app
from bastion.store import attest
from bastion.store import schema as t
from bastion.store.db import open_engine

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, object]]]:
    """A database after a scan, reviews, an appeal and key changes, checkpointed, then more of Bastion's own work;
    returns (database, key, checkpoint)."""
    from bastion.api.keys import create_key, revoke_key
    from bastion.review import appeals
    from bastion.review.decide import decide
    from bastion.review.queues import lease

    tmp = tmp_path_factory.mktemp("attest")
    key = tmp / "audit.key"
    signing.generate(key)
    old = os.environ.get(signing.ENV)
    os.environ[signing.ENV] = str(key)  # Bastion signs its head from here on
    db = tmp / "bastion.db"
    url = f"sqlite:///{db}"
    try:
        _cli("bank", "import", str(ROOT / "examples/banks/sample-bank.json"), "--create", "--db", url)
        _cli("scan", str(ROOT / "examples/sample-stream.jsonl"), "--db", url)
        bad = tmp / "bad.jsonl"
        bad.write_text('{"id": "q1", "account_id": "uq", "text": "hello"}\n{not json\n', encoding="utf-8")
        _cli("scan", str(bad), "--format", "native", "--db", url)
        engine = open_engine(url)
        create_key(engine, "reviewer", name="ana", now=NOW)
        gone, _ = create_key(engine, "reviewer", name="old", now=NOW)
        revoke_key(engine, gone, actor="admin", now=NOW)
        with engine.connect() as conn:
            jobs = conn.execute(select(t.review_jobs.c.id, t.review_jobs.c.subject_kind)
                                .where(t.review_jobs.c.state == "open").order_by(t.review_jobs.c.id)).all()
        posts = [j for j, kind in jobs if kind == "post"]
        accounts = [j for j, kind in jobs if kind == "account"]
        for job, outcome in ((posts[0], "uphold"), (posts[1], "overturn"), (accounts[0], "uphold")):
            lease(engine, job, "reviewer:ana", NOW)
            decide(engine, job, "reviewer:ana", outcome, NOW, webhook=True)
        with engine.connect() as conn:
            removed = conn.execute(select(t.ledger.c.target_id).where(
                t.ledger.c.action == "remove_post", t.ledger.c.reversed_at.is_(None)).limit(1)).scalar_one()
        appeal, _ = appeals.create(engine, reason="news report", now=NOW, actor="user:u1", target_kind="post",
                                   target_id=removed)
        appeals.lease(engine, appeal["id"], "reviewer:ben", NOW)
        appeals.decide(engine, appeal["id"], "reviewer:ben", "overturned", NOW, webhook=True)
        assert audit.verify(engine).ok
        doc = cp.take(engine, signing.load_private(key), NOW)
        # Bastion's own work after the checkpoint: a scan of new posts and a review
        _cli("scan", str(ROOT / "tests/fixtures/threats/scenario-2014.jsonl"), "--db", url)
        lease(engine, posts[2], "reviewer:ana", NOW + timedelta(hours=1))
        decide(engine, posts[2], "reviewer:ana", "uphold", NOW + timedelta(hours=1))
        engine.dispose()
        with sqlite3.connect(db) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield db, key, doc
    finally:
        if old is None:
            os.environ.pop(signing.ENV, None)
        else:
            os.environ[signing.ENV] = old


def test_bastions_own_work_after_a_checkpoint_verifies(built: tuple[Path, Path, dict[str, object]]) -> None:
    db, key, doc = built
    engine = open_engine(f"sqlite:///{db}")
    result = cp.verify_db(engine, doc, trusted=signing.load_public(Path(f"{key}.pub")))
    engine.dispose()
    assert result.ok, result.problems
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM ledger WHERE reversed_at IS NOT NULL").fetchone()[0] >= 1
        assert raw.execute("SELECT count(*) FROM accounts WHERE status = 'suspended'").fetchone()[0] >= 1
        assert raw.execute("SELECT count(*) FROM threat_custody").fetchone()[0] >= 1


def _forge_entry(raw: sqlite3.Connection, event: str, payload: bytes) -> None:
    """An insider who knows the format appends a well-formed entry and moves the head (but has no key)."""
    seq, prev = raw.execute("SELECT seq, hash FROM audit_head").fetchone()
    ts = "2026-12-02T00:00:00.000000+00:00"
    h = entry_hash(prev, seq + 1, ts, "system", event, None, payload.decode())
    raw.execute("INSERT INTO audit_log (seq, ts, actor, event, subject, payload, prev_hash, hash) "
                "VALUES (?, '2026-12-02 00:00:00.000000', 'system', ?, NULL, ?, ?, ?)",
                (seq + 1, event, payload.decode(), prev, h))
    raw.execute("UPDATE audit_head SET seq = ?, hash = ?", (seq + 1, h))


def _reattest(raw: sqlite3.Connection, db: Path, table: str) -> None:
    """The insider also recomputes the table's digest and appends an entry recording it, as Bastion would."""
    raw.commit()
    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        vec, rows = attest.table_vector(conn, attest.COVERED[table])
        last = conn.execute(select(t.audit_state.c.vec).where(t.audit_state.c.name == table)).scalar_one()
    engine.dispose()
    import numpy as np

    body = {"tables": {table: {"digest": attest.digest(vec), "rows": rows,
                               "from": attest.digest(np.frombuffer(last, dtype="<u2"))}}}
    _forge_entry(raw, "audit.state", orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    raw.execute("UPDATE audit_state SET vec = ? WHERE name = ?", (vec.astype("<u2").tobytes(), table))


def _rewrite_chain(raw: sqlite3.Connection) -> None:
    """Recompute every hash from the genesis after an edit (an insider with the code)."""
    prev = audit.GENESIS
    rows = raw.execute("SELECT seq, ts, actor, event, subject, payload FROM audit_log ORDER BY seq").fetchall()
    for seq, ts, actor, event, subject, payload in rows:
        stamp = datetime.fromisoformat(ts).replace(tzinfo=UTC).isoformat(timespec="microseconds")
        h = entry_hash(prev, seq, stamp, actor, event, subject, payload)
        raw.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
        prev = h
    raw.execute("UPDATE audit_head SET seq = ?, hash = ?", (rows[-1][0], prev))


Tamper = Callable[[sqlite3.Connection, Path], None]


def _sql(*statements: str) -> Tamper:
    def run(raw: sqlite3.Connection, _db: Path) -> None:
        for s in statements:
            assert raw.execute(s).rowcount != 0, s
    return run


def _then(first: Tamper, second: Callable[[sqlite3.Connection], None]) -> Tamper:
    def run(raw: sqlite3.Connection, db: Path) -> None:
        first(raw, db)
        second(raw)
    return run


def _edit_and_reattest(statement: str, table: str) -> Tamper:
    def run(raw: sqlite3.Connection, db: Path) -> None:
        _sql(statement)(raw, db)
        _reattest(raw, db, table)
    return run


LIVE_REMOVAL = "(SELECT seq FROM ledger WHERE action = 'remove_post' AND reversed_at IS NULL LIMIT 1)"
TABLES = ["posts", "accounts", "ledger", "review_jobs", "review_decisions", "appeals", "api_keys", "evidence_blobs",
          "evidence_refs", "quarantine", "webhook_outbox", "threat_cases", "threat_case_items", "threat_custody",
          "decisions", "audit_log", "audit_head", "audit_state"]

DB_CASES: dict[str, Tamper] = {
    "delete a removal from the ledger": _sql(f"DELETE FROM ledger WHERE seq = {LIVE_REMOVAL}"),
    "forge a suspension in the ledger": _sql(
        "INSERT INTO ledger (decision_id, action, target_kind, target_id, rule, policy, automated, source, "
        "created_at) VALUES ('d-x', 'suspend_account', 'account', 'victim', 'r', 'p', 0, 'review', "
        "'2026-12-01 12:00:00.000000')"),
    "forge a reversal": _sql(f"UPDATE ledger SET reversed_at = '2026-12-01 13:00:00.000000', reversed_by = 'x' "
                             f"WHERE seq = {LIVE_REMOVAL}"),
    "undo a reversal": _sql("UPDATE ledger SET reversed_at = NULL, reversed_by = NULL "
                            "WHERE seq = (SELECT max(seq) FROM ledger WHERE reversed_at IS NOT NULL)"),
    "edit a post's text": _sql("UPDATE posts SET text = text || ' (edited)' WHERE id = (SELECT min(id) FROM posts)"),
    "clear removed_at": _sql("UPDATE posts SET removed_at = NULL WHERE removed_at IS NOT NULL"),
    "insert a post": _sql("INSERT INTO posts (id, account_id, text, source, ingested_at) "
                          "VALUES ('fake', 'u1', 'planted', 'jsonl', '2026-12-01 12:00:00.000000')"),
    "delete a post": _sql("DELETE FROM posts WHERE id = (SELECT max(id) FROM posts)"),
    "un-suspend an account": _sql("UPDATE accounts SET status = 'active' WHERE status = 'suspended'"),
    "alter an evidence blob": _sql("UPDATE evidence_blobs SET data = X'00' WHERE rowid = "
                                   "(SELECT min(rowid) FROM evidence_blobs)"),
    "delete an evidence blob": _sql("DELETE FROM evidence_blobs WHERE rowid = (SELECT max(rowid) FROM evidence_blobs)"),
    "re-point an evidence link": _sql("UPDATE evidence_refs SET subject_id = 'other' WHERE seq = "
                                      "(SELECT min(seq) FROM evidence_refs)"),
    "delete a custody row": _sql("DELETE FROM threat_custody WHERE seq = 2"),
    "alter a custody row": _sql("UPDATE threat_custody SET actor = 'nobody' WHERE seq = 1"),
    "close a review job as overturned": _sql(
        "UPDATE review_jobs SET state = 'done', outcome = 'overturn', decided_by = 'x' "
        "WHERE id = (SELECT min(id) FROM review_jobs WHERE state = 'open')"),
    "delete a review job": _sql("DELETE FROM review_jobs WHERE id = (SELECT max(id) FROM review_jobs)"),
    "change a review outcome": _sql("UPDATE review_decisions SET outcome = 'overturn' WHERE outcome = 'uphold'"),
    "forge a review decision": _sql(
        "INSERT INTO review_decisions (id, queue, subject_kind, subject_id, outcome, actor, origin, created_at) "
        "VALUES ('r-x', 'q', 'post', 'p', 'uphold', 'reviewer:x', 'automated', '2026-12-01 12:00:00.000000')"),
    "change an appeal outcome": _sql("UPDATE appeals SET outcome = 'upheld'"),
    "raise a key to admin": _sql("UPDATE api_keys SET role = 'admin' WHERE role = 'reviewer'"),
    "un-revoke a key": _sql("UPDATE api_keys SET revoked_at = NULL WHERE revoked_at IS NOT NULL"),
    "insert an admin key": _sql("INSERT INTO api_keys (id, hash, role, name, created_at, created_by) VALUES "
                                "('k-x', 'h', 'admin', 'x', '2026-12-01 12:00:00.000000', 'x')"),
    "delete quarantine rows": _sql("DELETE FROM quarantine"),
    "alter the outbox": _sql("UPDATE webhook_outbox SET payload = '{}' WHERE rowid = "
                             "(SELECT min(rowid) FROM webhook_outbox)"),
    "mark a notification delivered": _sql("UPDATE webhook_outbox SET state = 'delivered' WHERE state = 'pending'"),
    "downgrade a threat case": _sql("UPDATE threat_cases SET severity = 0.1, level = 'low'"),
    "delete a case item": _sql("DELETE FROM threat_case_items WHERE seq = (SELECT max(seq) FROM threat_case_items)"),
    "alter a decision": _sql("UPDATE decisions SET explanation = 'nothing' WHERE rowid = "
                             "(SELECT min(rowid) FROM decisions)"),
    "delete decisions": _sql("DELETE FROM decisions WHERE enforced = 1"),
    "edit a row and re-attest it in a forged entry": _edit_and_reattest(
        "UPDATE accounts SET status = 'active' WHERE status = 'suspended'", "accounts"),
    "reset a running digest": _sql("DELETE FROM audit_state WHERE name = 'posts'",
                                   "UPDATE posts SET text = 'x' WHERE id = (SELECT min(id) FROM posts)"),
    "edit an entry and recompute the whole chain": _then(
        _sql("UPDATE audit_log SET payload = '{}' WHERE event = 'review.decide'"), _rewrite_chain),
    "truncate the log and rewind the head": _sql(
        "DELETE FROM audit_log WHERE seq > 5", "UPDATE audit_head SET seq = 5, "
        "hash = (SELECT hash FROM audit_log WHERE seq = 5)"),
    "drop the head's signature": _sql("UPDATE audit_head SET sig = NULL"),
    "wipe everything": _sql(*(f"DELETE FROM {name}" for name in TABLES)),
}


def test_there_are_at_least_27_database_tampering_cases() -> None:
    assert len(DB_CASES) >= 27


@pytest.mark.parametrize("case", sorted(DB_CASES))
def test_database_tampering_after_a_checkpoint_is_detected(case: str, built: tuple[Path, Path, dict[str, object]],
                                                           tmp_path: Path) -> None:
    db, key, doc = built
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    with sqlite3.connect(copy) as raw:  # the insider's own tool, not Bastion
        DB_CASES[case](raw, copy)
    engine = open_engine(f"sqlite:///{copy}")
    try:
        result = cp.verify_db(engine, doc, trusted=signing.load_public(Path(f"{key}.pub")))
    finally:
        engine.dispose()
    assert not result.ok, case


# -- exported logs -------------------------------------------------------------------------------------------
def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _rechain(lines: list[bytes]) -> list[bytes]:
    prev, out, last = audit.GENESIS, [], 0
    for line in lines:
        obj = orjson.loads(line)
        if "head" in obj:
            continue
        obj["prev_hash"] = prev
        obj["hash"] = prev = entry_hash(prev, obj["seq"], obj["ts"], obj["actor"], obj["event"], obj["subject"],
                                        obj["payload"])
        last = obj["seq"]
        out.append(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) + b"\n")
    return [*out, orjson.dumps({"head": {"seq": last, "hash": prev}}) + b"\n"]


def _edit_entry(lines: list[bytes], seq: int) -> list[bytes]:
    out = []
    for line in lines:
        obj = orjson.loads(line)
        if obj.get("seq") == seq:
            obj["payload"] = "{}"
            line = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) + b"\n"
        out.append(line)
    return out


def _append_forged(lines: list[bytes]) -> list[bytes]:
    entries = [orjson.loads(x) for x in lines[:-1]]
    last = entries[-1]
    obj = {"seq": last["seq"] + 1, "ts": last["ts"], "actor": "system", "event": "note", "subject": None,
           "payload": "{}", "prev_hash": last["hash"]}
    obj["hash"] = entry_hash(last["hash"], obj["seq"], obj["ts"], "system", "note", None, "{}")
    return [*lines[:-1], orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) + b"\n",
            orjson.dumps({"head": {"seq": obj["seq"], "hash": obj["hash"]}}) + b"\n"]


def _truncate_at(lines: list[bytes], seq: int) -> list[bytes]:
    keep = [x for x in lines[:-1] if orjson.loads(x)["seq"] < seq]
    last = orjson.loads(keep[-1])
    return [*keep, orjson.dumps({"head": {"seq": last["seq"], "hash": last["hash"]}}) + b"\n"]


def _cp_seq(doc: dict[str, object]) -> int:
    head = doc["head"]
    assert isinstance(head, dict)
    return int(head["seq"])


EXPORT_CASES: dict[str, Callable[[list[bytes], int], list[bytes]]] = {
    "empty file": lambda lines, s: [],
    "head line only": lambda lines, s: lines[-1:],
    "head line removed": lambda lines, s: lines[:-1],
    "an entry removed": lambda lines, s: lines[:3] + lines[4:],
    "two entries swapped": lambda lines, s: [lines[1], lines[0], *lines[2:]],
    "an entry edited": lambda lines, s: _edit_entry(lines, 2),
    "an entry edited and the chain recomputed": lambda lines, s: _rechain(_edit_entry(lines, 2)),
    "truncated before the checkpoint with a rewritten head": lambda lines, s: _truncate_at(lines, s),
    "truncated after the checkpoint with a rewritten head (unsigned)": lambda lines, s: _truncate_at(lines, s + 2),
    "a forged entry appended with a consistent head": lambda lines, s: _append_forged(lines),
    "the head's signature removed": lambda lines, s: [
        *lines[:-1], orjson.dumps({"head": {k: v for k, v in orjson.loads(lines[-1])["head"].items()
                                            if k != "sig"}}) + b"\n"],
    "the head's seq changed": lambda lines, s: [*lines[:-1], lines[-1].replace(b'"seq":', b'"seq":1')],
    "a garbage line inserted": lambda lines, s: [lines[0], b"{not json\n", *lines[1:]],
    "another database's log": lambda lines, s: _rechain(lines[:s - 1]),
}


def test_there_are_at_least_13_export_tampering_cases() -> None:
    assert len(EXPORT_CASES) >= 13


@pytest.mark.parametrize("case", sorted(EXPORT_CASES))
def test_export_tampering_is_detected_against_a_checkpoint(case: str, built: tuple[Path, Path, dict[str, object]],
                                                           tmp_path: Path) -> None:
    db, key, doc = built
    engine = open_engine(f"sqlite:///{db}")
    path = tmp_path / "audit.jsonl"
    audit.export(engine, path)
    engine.dispose()
    trusted = signing.load_public(Path(f"{key}.pub"))
    assert cp.verify_export(path, doc, trusted=trusted).ok
    lines = _lines(path)
    path.write_bytes(b"".join(EXPORT_CASES[case](lines, _cp_seq(doc))))
    assert not cp.verify_export(path, doc, trusted=trusted).ok, case


def test_an_altered_or_foreign_checkpoint_is_refused(built: tuple[Path, Path, dict[str, object]],
                                                     tmp_path: Path) -> None:
    db, key, doc = built
    trusted = signing.load_public(Path(f"{key}.pub"))
    engine = open_engine(f"sqlite:///{db}")
    try:
        forged = {**doc, "head": {"seq": 1, "hash": "0" * 64}}
        assert any("signature" in p for p in cp.verify_db(engine, forged, trusted=trusted).problems)
        other = tmp_path / "other.key"
        signing.generate(other)
        theirs = cp.take(engine, signing.load_private(other), NOW)
        assert any("another key" in p or "other than" in p
                   for p in cp.verify_db(engine, theirs, trusted=trusted).problems)
    finally:
        engine.dispose()


def test_cli_checkpoint_and_verify(built: tuple[Path, Path, dict[str, object]], tmp_path: Path) -> None:
    db, key, _ = built
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    out = tmp_path / "cp.json"
    runner = CliRunner()
    url = f"sqlite:///{copy}"
    res = runner.invoke(app, ["audit", "checkpoint", "--out", str(out), "--db", url, "--key", str(key)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["audit", "verify", "--db", url, "--checkpoint", str(out), "--public-key", f"{key}.pub"])
    assert res.exit_code == 0 and "matches checkpoint" in res.output, res.output
    with sqlite3.connect(copy) as raw:
        raw.execute("UPDATE accounts SET status = 'active'")
    res = runner.invoke(app, ["audit", "verify", "--db", url, "--checkpoint", str(out), "--public-key", f"{key}.pub"])
    assert res.exit_code != 0 and "TAMPERED: table accounts" in res.output, res.output


def test_incremental_digests_equal_a_full_recount(built: tuple[Path, Path, dict[str, object]]) -> None:
    db, _, _ = built
    engine = open_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            for row in conn.execute(select(t.audit_state)):
                vec, rows = attest.table_vector(conn, attest.COVERED[row.name])
                assert (attest.digest(vec), rows) == (
                    attest.digest(__import__("numpy").frombuffer(row.vec, dtype="<u2")), row.rows), row.name
    finally:
        engine.dispose()


def test_strict_mode_refuses_an_untracked_write_to_a_large_table(sqlite_url: str) -> None:
    from sqlalchemy import insert

    engine = open_engine(sqlite_url)
    try:
        with pytest.raises(attest.UntrackedWrite, match="quarantine"), engine.begin() as conn:
            conn.execute(insert(t.quarantine).values(file="f", line=1, reason="r", created_at=NOW))
        with engine.begin() as conn, attest.tracked(conn, t.quarantine):
            conn.execute(insert(t.quarantine).values(file="f", line=1, reason="r", created_at=NOW))
        assert audit.verify(engine).ok
    finally:
        engine.dispose()


def test_a_database_from_before_attestation_is_attested_when_upgraded(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import insert

    from bastion.store.db import alembic_config, make_engine, migrate

    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:  # the schema and rows of the version before attestation
            attest.outside(conn)
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            for rev in ("0002_ledger_live", "api_0001", "threats_0001", "media_0001"):
                command.upgrade(cfg, rev)
            conn.execute(insert(t.accounts).values(id="u1", handle="h", source="jsonl", verified=False,
                                                   status="suspended", ingested_at=NOW))
            conn.execute(insert(t.posts).values(id="p1", account_id="u1", text="hello", source="jsonl",
                                                ingested_at=NOW))
        migrate(engine)
        assert audit.verify(engine).ok
    finally:
        engine.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE accounts SET status = 'active'")
    engine = open_engine(f"sqlite:///{path}")
    try:
        problems = audit.verify(engine).problems
        assert any("table accounts" in p for p in problems), problems
    finally:
        engine.dispose()
