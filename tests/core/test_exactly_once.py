"""Nothing done twice: a scan killed (SIGKILL) at any point and run again stores what one uninterrupted scan
stores - the same post decisions, one ledger row per enforcement, one webhook entry per decision that changed
something, one security case per threat."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bastion.pipeline.workers import can_fork
from bastion.store import schema as t
from bastion.store.db import open_engine
from bastion.store.threats import threat_case_items, threat_cases

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-stream.jsonl"
T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)

CHILD = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from bastion.pipeline.build import build_pipeline, iter_inputs
from bastion.pipeline import runtime
from bastion.settings import Settings

db, where, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = Settings.load(db_url=db, detectors="all", batch_size=5, workers=1,
                         webhook_url="https://platform.invalid/hook", webhook_secret="k")
pipeline, _ = build_pipeline(settings, bulk=True)
pipeline.clock = lambda: datetime(2026, 12, 4, 12, tzinfo=UTC)
for sink in pipeline.sinks:  # case ids and custody times come from the sink's clock
    if hasattr(sink, "cases"):
        sink.cases.clock = pipeline.clock
calls = [0]

def die_after(fn):
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    return wrapped

if where.endswith("+saved"):  # detector snapshots saved after every batch: the rerun catches up from the last
    runtime.STATE_EVERY_S = -1.0
    where = where.removesuffix("+saved")
if where == "none":  # an ordinary scan
    pass
elif where == "acted":  # the batch's sinks have acted (cases opened), nothing of it committed
    pipeline._observe_sinks = die_after(pipeline._observe_sinks)
else:  # the batch has committed, the next has not started
    pipeline.store.write = die_after(pipeline.store.write)
pipeline.run(iter_inputs([Path(sys.argv[4])]), inputs=[sys.argv[4]])
"""


def _scan(db: str, where: str = "none", at: int = 0) -> int:
    """A scan in its own interpreter (as the operator runs it; no state from other tests), killed at the
    ``at``-th batch ``where`` says; returns its exit status."""
    done = subprocess.run([sys.executable, "-c", CHILD, db, where, str(at), str(SAMPLE)],
                          capture_output=True, text=True, check=False)
    if where == "none":
        assert done.returncode == 0, done.stderr[-2000:]
    elif done.returncode != -signal.SIGKILL:
        raise AssertionError(done.stderr[-2000:])
    return done.returncode


def _effects(db: str) -> dict[str, Any]:
    engine = open_engine(db)
    try:
        with engine.connect() as conn:
            L = t.ledger
            return {
                "decisions": sorted(conn.execute(select(t.decisions.c.id, t.decisions.c.subject_id,
                                                        t.decisions.c.actions)).all()),
                "ledger": Counter(conn.execute(select(L.c.action, L.c.target_kind, L.c.target_id)).all()),
                "outbox": Counter(conn.execute(select(t.webhook_outbox.c.decision_id)).scalars()),
                "review_jobs": sorted(conn.execute(select(t.review_jobs.c.queue, t.review_jobs.c.subject_id)).all()),
                "cases": conn.execute(select(threat_cases.c.subject_post_id)).scalars().all(),
                "case_items": Counter(conn.execute(select(threat_case_items.c.role,
                                                          threat_case_items.c.subject_id)).all()),
                "posts": sorted(conn.execute(select(t.posts.c.id, t.posts.c.removed_at)).all()),
            }
    finally:
        engine.dispose()


@pytest.mark.skipif(not can_fork(), reason="needs POSIX signals")
@pytest.mark.parametrize(("where", "at"), [("acted", 2), ("acted", 5), ("committed", 3), ("committed", 7),
                                           ("committed+saved", 4), ("acted+saved", 6)])
def test_killed_scan_rerun_stores_what_one_scan_stores(tmp_path: Path, where: str, at: int) -> None:
    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    _scan(whole)
    expected = _effects(whole)
    assert expected["ledger"] and expected["outbox"] and expected["cases"]
    assert max(expected["ledger"].values()) == 1

    crashed = f"sqlite:///{tmp_path / 'crashed.db'}"
    assert _scan(crashed, where, at) == -signal.SIGKILL
    _scan(crashed)  # the operator runs it again
    got = _effects(crashed)
    for key in expected:  # every decision (posts and accounts), ledger row, review job, webhook entry, case
        assert got[key] == expected[key], key


def test_scanning_the_same_file_twice_enforces_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'twice.db'}"
    _scan(db)
    first = _effects(db)
    _scan(db)
    assert _effects(db) == first
