"""A post id submitted again with other content is the post's next version: both versions are kept, each has its
own decision, the chain records the change, and the same content again is no new version."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import select
from typer.testing import CliRunner

from bastion.audit import log as audit
from bastion.cli.main import app
from bastion.store import schema as t
from bastion.store.db import open_engine


def _scan(tmp: Path, url: str, text: str, name: str) -> str:
    src = tmp / f"{name}.jsonl"
    src.write_text(orjson.dumps({"type": "post", "id": "p1", "account_id": "u1", "text": text,
                                 "created_at": "2015-02-01T10:00:00Z"}).decode() + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["scan", str(src), "--db", url, "--detectors", "none", "--format", "native"])
    assert res.exit_code == 0, res.output
    return res.output


def test_a_resubmitted_post_with_other_content_is_a_new_version(tmp_path: Path, db_url: str) -> None:
    _scan(tmp_path, db_url, "first words", "a")
    out = _scan(tmp_path, db_url, "second words", "b")
    assert "new versions of stored posts" in out
    _scan(tmp_path, db_url, "second words", "b2")  # the same content again: nothing new
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            post = conn.execute(select(t.posts).where(t.posts.c.id == "p1")).one()
            versions = conn.execute(select(t.post_versions.c.version, t.post_versions.c.text)
                                    .where(t.post_versions.c.post_id == "p1")).all()
            decided = conn.execute(select(t.decisions.c.id).where(t.decisions.c.subject_id == "p1")).all()
            events = conn.execute(select(t.audit_log.c.payload).where(t.audit_log.c.event == "post.version")).all()
        assert (post.text, post.version) == ("second words", 2)
        assert [tuple(v) for v in versions] == [(1, "first words")]
        assert len(decided) == 2  # one decision per version, on what that version said
        assert len(events) == 1 and orjson.loads(events[0][0])["version"] == 2
        assert audit.verify(engine).ok
    finally:
        engine.dispose()
    _scan(tmp_path, db_url, "first words", "a2")  # back to the first wording: a third version
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            post = conn.execute(select(t.posts.c.text, t.posts.c.version).where(t.posts.c.id == "p1")).one()
            n = conn.execute(select(t.post_versions.c.version).where(t.post_versions.c.post_id == "p1")).all()
        assert tuple(post) == ("first words", 3) and len(n) == 2
        assert audit.verify(engine).ok
    finally:
        engine.dispose()
