"""The audit chain catches every single-byte change, deletion and reordering."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from bastion.audit import log as audit
from bastion.audit.evidence import EvidenceStore
from bastion.errors import NotFound
from bastion.store.schema import audit_log, decisions


def fill(engine: Engine, n: int = 12) -> None:
    with engine.begin() as conn:
        for i in range(n):
            audit.AuditLog().append(conn, "test.event", f"actor{i % 3}", f"post:{i}", {"i": i, "note": "ok"},
                                    now=datetime(2015, 1, 1, 0, i, tzinfo=UTC))


def test_intact_chain_verifies(engine: Engine) -> None:
    fill(engine)
    result = audit.verify(engine)
    assert result.ok and result.entries == 12


def test_altered_entry_in_database_is_caught(engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 5).values(payload='{"i":5,"note":"ok!"}'))
    result = audit.verify(engine)
    assert not result.ok and any("entry 5" in p and "altered" in p for p in result.problems)


def test_deleted_and_truncated_entries_are_caught(engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 3))
    assert not audit.verify(engine).ok
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 3))
    result = audit.verify(engine)
    assert not result.ok and any("truncated" in p for p in result.problems)


def test_every_single_byte_change_deletion_and_reordering_of_an_export(tmp_path: Path, sqlite_url: str) -> None:
    from bastion.store.db import open_engine

    engine = open_engine(sqlite_url)
    fill(engine, 6)
    path = tmp_path / "audit.jsonl"
    audit.export(engine, path)
    data = path.read_bytes()
    assert audit.verify_file(path).ok
    tampered = tmp_path / "t.jsonl"
    for i in range(len(data)):
        if data[i:i + 1] == b"\n":
            continue
        for flip in (1,):
            changed = bytearray(data)
            changed[i] ^= flip
            if bytes(changed) == data:
                continue
            tampered.write_bytes(bytes(changed))
            assert not audit.verify_file(tampered).ok, f"byte {i} (^{flip:#x}) not caught"
    lines = data.splitlines(keepends=True)
    for i in range(len(lines)):  # every deletion
        tampered.write_bytes(b"".join(lines[:i] + lines[i + 1:]))
        assert not audit.verify_file(tampered).ok, f"deleting line {i} not caught"
    for i in range(len(lines) - 1):  # every adjacent swap
        swapped = list(lines)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        tampered.write_bytes(b"".join(swapped))
        assert not audit.verify_file(tampered).ok, f"swapping lines {i},{i + 1} not caught"


def test_scanned_decisions_are_tamper_evident(tmp_path: Path, sqlite_url: str) -> None:
    from typer.testing import CliRunner

    from bastion.cli.main import app
    from bastion.store.db import open_engine

    runner = CliRunner()
    res = runner.invoke(app, ["scan", "examples/sample-stream.jsonl", "--db", sqlite_url, "--detectors", "none",
                              "-q"])
    assert res.exit_code == 0, res.output
    ok = runner.invoke(app, ["audit", "verify", "--db", sqlite_url])
    assert ok.exit_code == 0 and "chain intact" in ok.output
    engine = open_engine(sqlite_url)
    with engine.begin() as conn:
        did = conn.execute(select(decisions.c.id).limit(1)).scalar_one()
        conn.execute(update(decisions).where(decisions.c.id == did).values(explanation="nothing to see"))
    bad = runner.invoke(app, ["audit", "verify", "--db", sqlite_url])
    assert bad.exit_code == 4 and f"decision {did}" in bad.output
    with engine.begin() as conn:
        conn.execute(delete(decisions).where(decisions.c.id == did))
    gone = runner.invoke(app, ["audit", "verify", "--db", sqlite_url])
    assert gone.exit_code == 4 and "removed" in gone.output


def test_evidence_is_content_addressed_held_and_purged(engine: Engine) -> None:
    store = EvidenceStore(engine)
    t0 = datetime(2015, 1, 1, tzinfo=UTC)
    sha = store.put(b"post body", "text/plain", subject_kind="post", subject_id="p1", role="content", now=t0)
    assert sha == store.put(b"post body", "text/plain", subject_kind="post", subject_id="p1", role="content")
    held = store.put(b"held", "text/plain", subject_kind="post", subject_id="p1", role="media")
    store.hold(held)
    assert store.start_retention("post", "p1", now=t0) == 2
    assert store.purge_expired(now=datetime(2015, 3, 1, tzinfo=UTC)) == []  # within six months
    purged = store.purge_expired(now=datetime(2015, 8, 1, tzinfo=UTC))
    assert purged == [sha]
    with pytest.raises(NotFound):
        store.get(sha)
    assert store.get(held) == b"held"  # legal hold outlives retention
    assert audit.verify(engine).ok
    events = [e.event for e in audit.entries(engine)]
    assert "evidence.purge" in events and "evidence.hold" in events


def test_retention_of_many_subjects_at_once_is_each_ones_retention(tmp_path: Path) -> None:
    """A batch's removals start retention together; the blobs end as starting it post by post leaves them."""
    from bastion.store.db import open_engine
    from bastion.store.schema import evidence_blobs

    t0, later = datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 2, 1, tzinfo=UTC)

    def fill(url: str) -> EvidenceStore:
        store = EvidenceStore(open_engine(url))
        for pid in ("p1", "p2", "p3"):
            store.put(f"body of {pid}".encode(), "text/plain", subject_kind="post", subject_id=pid, role="content",
                      now=t0)
        store.put(b"shared", "text/plain", subject_kind="post", subject_id="p1", role="media", now=t0)
        store.put(b"shared", "text/plain", subject_kind="post", subject_id="p2", role="media", now=t0)
        store.put(b"case only", "text/plain", subject_kind="case", subject_id="p2", role="post", now=t0)
        store.start_retention("post", "p3", now=later)  # already retained for longer: left as it is
        return store

    one, many = fill(f"sqlite:///{tmp_path / 'one.db'}"), fill(f"sqlite:///{tmp_path / 'many.db'}")
    # both: p1's and p2's bodies and their shared blob; p3's is retained longer already
    assert sum(one.start_retention("post", pid, now=t0) for pid in ("p1", "p2", "p3")) == 3
    assert many.start_retention_many("post", ["p1", "p2", "p3"], now=t0) == 3

    def blobs(store: EvidenceStore) -> list[tuple[object, ...]]:
        with store.engine.connect() as conn:
            rows = conn.execute(select(evidence_blobs.c.sha256, evidence_blobs.c.retain_until))
            return sorted(tuple(r) for r in rows)

    assert blobs(many) == blobs(one)
    assert sum(r[1] is None for r in blobs(one)) == 1  # the case's own item is not the post's to retain
