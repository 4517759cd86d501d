"""``bastion scan --workers``: the same stored results as one process, and nothing half-written when a
worker dies or the scan is interrupted."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, func, select

from bastion import catalogue
from bastion.detector import Detector, PostContext
from bastion.errors import DependencyError
from bastion.pipeline.build import build_pipeline, iter_inputs
from bastion.pipeline.runtime import ScanStats
from bastion.pipeline.workers import can_fork, leading_pure
from bastion.records import EMPTY, AccountId, Post, PostId
from bastion.settings import Settings
from bastion.signals import Signal, Span
from bastion.store import schema as t
from bastion.store.db import open_engine

pytestmark = pytest.mark.skipif(not can_fork(), reason="detection workers need fork")

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-stream.jsonl"
T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)
RUN = uuid.UUID(int=7)


def _run(db_url: str, workers: int, detectors: str = "all", inputs: Sequence[Path] = (SAMPLE,),
         progress: Any = None) -> tuple[ScanStats, list[dict[str, Any]]]:
    settings = Settings.load(db_url=db_url, detectors=detectors, batch_size=5, workers=workers)
    out: list[dict[str, Any]] = []
    pipeline, _ = build_pipeline(settings, on_decision=lambda d: out.append(d.to_json()), bulk=True)
    pipeline.clock = lambda: T0
    for sink in pipeline.sinks:  # security case ids and custody times come from the sink's clock
        if hasattr(sink, "cases"):
            sink.cases.clock = pipeline.clock
    return pipeline.run(iter_inputs(list(inputs)), inputs=[str(p) for p in inputs], progress=progress), out


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted; the run's own timings (``run.finish``, ``runs.stats``) and the hashes that
    chain over them left out."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            cols = [c for c in table.c if not (table.name in ("runs", "audit_head") and c.name in ("stats", "hash"))]
            rows = [tuple(r) for r in conn.execute(select(*cols))]
            if table.name == "audit_log":
                names = [c.name for c in cols]
                ev, pay = names.index("event"), names.index("payload")
                rows = [tuple("<timings>" if i == pay and r[ev] == "run.finish" else
                              ("<chain>" if names[i] in ("hash", "prev_hash") and r[ev] == "run.finish" else v)
                              for i, v in enumerate(r)) for r in rows]
            dump[table.name] = sorted(rows, key=repr)
    return dump


@pytest.fixture
def fixed_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bastion.pipeline.runtime.uuid.uuid4", lambda: RUN)


def test_two_workers_store_exactly_what_one_process_stores(tmp_path: Path, fixed_run_id: None) -> None:
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
    stats1, out1 = _run(one, 1)
    stats2, out2 = _run(two, 2)
    assert stats1.posts == stats2.posts > 10 and stats2.decisions == stats1.decisions
    assert out2 == out1  # the --out file
    # the pure detectors ran in the worker: their time is counted, and the run's decisions carry their signals
    assert stats2.stage_seconds["detect:threat"] > 0
    assert stats2.stage_seconds["detect:from workers"] > 0 and "detect:from workers" not in stats1.stage_seconds
    assert any("threat" in d["scores"] for d in out2)
    e1, e2 = open_engine(one), open_engine(two)
    try:
        d1, d2 = _tables(e1), _tables(e2)
        assert d1["decisions"] and d1["audit_log"]
        assert d2 == d1  # decisions, ledger, review jobs, cases, evidence, detector state, audit chain
    finally:
        e1.dispose()
        e2.dispose()


class Fragile(Detector):
    """A pure test detector whose process dies on a post saying CRASH - in a worker only."""

    name: ClassVar[str] = "fragile"
    signals: ClassVar[tuple[str, ...]] = ("fragile",)
    pure: ClassVar[bool] = True
    parent = os.getpid()

    def detect(self, batch: Sequence[PostContext]) -> list[list[Signal]]:
        for ctx in batch:
            if "CRASH" in ctx.post.text and os.getpid() != self.parent:
                os._exit(3)
        return [[Signal("fragile", 0.0, self.name, self.version)] for _ in batch]


@pytest.fixture
def fragile() -> Iterator[None]:
    catalogue.register("fragile", Fragile)
    yield
    catalogue._REGISTRY.pop("fragile", None)


def _posts(path: Path, n: int, crash_at: int | None = None) -> Path:
    lines = []
    for i in range(n):
        text = "CRASH here" if i == crash_at else f"an ordinary post number {i}"
        lines.append(f'{{"type": "post", "id": "p{i}", "account_id": "a{i % 3}", "text": "{text}", '
                     f'"created_at": "2026-12-04T10:{i // 60:02d}:{i % 60:02d}Z"}}')
    path.write_text("\n".join(lines) + "\n")
    return path


def _count(db_url: str, table: t.Table) -> int:
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_a_dead_worker_ends_the_scan_cleanly_and_a_rerun_finishes_without_duplicates(
        tmp_path: Path, fragile: None) -> None:
    db = f"sqlite:///{tmp_path / 'b.db'}"
    data = _posts(tmp_path / "in.jsonl", 40, crash_at=27)  # batch 6 of 8
    with pytest.raises(DependencyError, match="worker died"):
        _run(db, 2, detectors="fragile,campaign", inputs=[data])
    assert multiprocessing.active_children() == []
    stored = _count(db, t.posts)
    assert stored % 5 == 0 and 0 < stored < 40  # whole batches only
    assert _count(db, t.decisions) == stored
    stats, _ = _run(db, 1, detectors="fragile,campaign", inputs=[data])  # in one process it does not die
    assert stats.posts == 40 and stats.posts_duplicate == stored
    assert _count(db, t.posts) == 40 and _count(db, t.decisions) == 40


def test_an_interrupted_scan_stops_its_workers_and_writes_whole_batches(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'i.db'}"
    data = _posts(tmp_path / "in.jsonl", 40)
    seen = []

    def interrupt(n: int) -> None:
        seen.append(n)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(db, 2, detectors="lexicon,campaign", inputs=[data], progress=interrupt)
    assert multiprocessing.active_children() == []
    assert _count(db, t.posts) == 15
    stats, _ = _run(db, 2, detectors="lexicon,campaign", inputs=[data])
    assert stats.posts_duplicate == 15 and _count(db, t.posts) == 40 and _count(db, t.decisions) == 40


def test_only_the_leading_pure_detectors_leave_the_main_process() -> None:
    built = catalogue.build(["lexicon", "campaign", "threat"])
    assert leading_pure(built) == 1  # threat after a stateful detector may read its signals: it stays here
    assert leading_pure(catalogue.build(["lexicon", "propaganda", "threat", "media"])) == 3


def test_records_cross_a_process_boundary() -> None:
    post = Post(id=PostId("p1"), account_id=AccountId("a1"), text="x")
    assert post.meta is EMPTY
    back = pickle.loads(pickle.dumps(post))
    assert back == post and back.meta is EMPTY
    assert pickle.loads(pickle.dumps(replace(post, text="y"))).text == "y"
    sig = Signal("threat", 0.9, "threat", "v1", labels=("stance:issue",), spans=(Span(0, 4, "harm:kill", "kill"),),
                 details={"gate": "open", "stances": {"issue": 0.9}})
    for s in (sig, Signal.missing("threat", "threat", "v1", "ValueError: bad"), Signal("x", 0.0, "d", "v")):
        back_sig = pickle.loads(pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL))
        assert back_sig == s and back_sig.details == s.details and back_sig.unavailable == s.unavailable
    assert pickle.loads(pickle.dumps(Signal("x", 0.0, "d", "v"))).details is EMPTY  # the shared empty mapping


def test_language_detection_works_in_a_forked_child() -> None:
    """lingua's batch call waits forever for its thread pool in a forked child; the child goes one by one."""
    code = ("import os\nfrom bastion.text.lang import detect_languages\n"
            "detect_languages(['bonjour tout le monde ici', 'hola amigos como estan'])\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    print(detect_languages(['bonjour tout le monde ici', 'guten tag meine freunde']), flush=True)\n"
            "    os._exit(0)\n"
            "os.waitpid(pid, 0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['fr', 'de']"
