"""The SQLite hot path writes what SQLAlchemy would, and hashes decisions as the audit check does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, select

from bastion.audit.decisions import content_hash, verify_decisions
from bastion.policy.model import Action, Decision, Subject
from bastion.records import AccountId, Media, MediaKind, Post, PostId
from bastion.store import schema as t
from bastion.store.attest import tracked
from bastion.store.driver import utc_text
from bastion.store.sqlite_rows import POST_COLUMNS, DecisionRows, insert_sql, post_values
from bastion.store.writer import bulk_insert, decision_row, post_row

T0 = datetime(2015, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)


def decision(i: int) -> Decision:
    act = Action("review", "r@1", "default@1", params={"queue": "q", "priority": 1})
    return Decision(id=f"dec_{i}", subject_kind=Subject.POST, subject_id=f"p{i}", account_id="a", created_at=T0,
                    scores={"propaganda": 0.5 + i / 10, "reporting": 0.1}, labels=("x",), actions=(act,),
                    shadow_actions=(), explanation=f"Rule r applies ({i}).", category="STATEMENT_CATEGORY_X",
                    versions={"policy": "default", "policy_version": "1", "rules": ["r@1"], "detectors": {"d": "1"}},
                    signals=({"name": "propaganda", "spans": [[0, 3, "org", "abc"]]},))


def test_decision_rows_hash_like_the_audit_check() -> None:
    to_row = DecisionRows()
    for i in range(3):
        d = decision(i)
        row, digest = to_row(d)
        assert digest == content_hash(decision_row(d)) == row[-1]


def test_hot_path_rows_read_back_like_sqlalchemy_rows(sqlite_url: str) -> None:
    from bastion.store.db import open_engine

    engine: Engine = open_engine(sqlite_url)
    local = T0.astimezone(timezone(timedelta(hours=3)))  # stored as UTC
    p = Post(id=PostId("p1"), account_id=AccountId("a"), text="hi #tag", created_at=local,
             hashtags=("tag",), media=(Media(id="m", kind=MediaKind.IMAGE, sha256="ab" * 32),), meta={"k": 1})
    with engine.begin() as conn, tracked(conn, t.posts, ["via-sqlalchemy", "p1"]):
        bulk_insert(conn, t.posts, [{**post_row(p, T0), "id": "via-sqlalchemy"}])
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cur.execute(insert_sql("posts", POST_COLUMNS, ignore=False), post_values(p, utc_text(T0) or ""))
    with engine.connect() as conn:
        a, b = (dict(r._mapping) for r in conn.execute(select(t.posts).order_by(t.posts.c.id)))
    a.pop("id"), b.pop("id")
    assert a == b and a["created_at"] == T0 and a["media"][0]["sha256"] == "ab" * 32
    engine.dispose()


def test_decisions_written_on_the_hot_path_verify(engine: Engine) -> None:
    from bastion.batch import Batch
    from bastion.store.writer import Store

    batch = Batch()
    batch.decisions = [decision(i) for i in range(4)]
    Store(engine).write(batch, run_id="r", now=T0, posts_by_id={}, reports_by_id={})
    assert verify_decisions(engine) == []


def test_scans_checkpoint_the_wal_less_often_than_the_server(tmp_path: Path) -> None:
    from bastion.store.db import BULK_CHECKPOINT_PAGES, CHECKPOINT_PAGES, open_engine

    for bulk, pages in ((False, CHECKPOINT_PAGES), (True, BULK_CHECKPOINT_PAGES)):
        engine = open_engine(f"sqlite:///{tmp_path / f'{bulk}.db'}", bulk=bulk)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == pages
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        engine.dispose()
