"""``bastion spark load``: a Spark job's decisions into the SQLite/PostgreSQL store, with their effects.

The output is checked first (:func:`bastion.spark.manifest.verify`: a tampered output is refused). Then, in
batches, each decision's post is read again from the input line that travels with it, its signals are rebuilt
from the decision, and the local pipeline's own stages take over from ``act``: the security sink opens or
updates cases, and ``persist`` writes posts, decisions, ledger, review jobs and audit entries in one
transaction per batch - the decisions as Spark made them, never decided again. Loading twice, or after a crash,
changes nothing more: decision ids are deterministic, a stored decision is not acted on again, and the store
keeps one live ledger row per effect. The bank entries the job's flood stage quarantined are paused in the
store's banks, each with one review job (queue ``media-bank-flood``), as a scan records a flood. The run's
audit entry (``run.finish``) records the manifest's Merkle root, so the store's chain vouches for what was loaded.

Reads Parquet with pyarrow only: no JVM is needed to load.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastion.batch import Batch
from bastion.errors import IntegrityError
from bastion.ingest.base import Quarantined
from bastion.policy.model import Decision, Subject
from bastion.records import Post, Report
from bastion.signals import Signal
from bastion.spark import manifest
from bastion.spark.score import LINE_FORMATS

if TYPE_CHECKING:
    from bastion.media.banks.flood import FloodEvent


class _Given:
    """The signals a Spark task computed, standing in for the local worker pool's results."""

    def __init__(self, signals: list[dict[str, Signal]]) -> None:
        self._signals = signals

    def result(self) -> tuple[list[dict[str, Signal]], list[dict[Any, Any]], dict[str, float]]:
        return self._signals, [{} for _ in self._signals], {}


def _signals(d: Decision) -> dict[str, Signal]:
    """The post's signals as the decision recorded them: every score, with the full signal (spans, labels,
    details) where the decision kept one."""
    out = {name: Signal(name, float(v), "spark", "") for name, v in d.scores.items()}
    for s in d.signals:
        out[str(s["name"])] = Signal.from_json(s)
    return out


def _rows(out: Path, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of decision rows, post decisions (with their input lines) first, then account decisions."""
    import pyarrow.parquet as pq

    for part, f in manifest.decision_files(out):
        columns = ["id", "decision"] if part == manifest.ACCOUNTS else ["id", "decision", "raw"]
        for chunk in pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns):
            yield chunk.to_pylist()


class Loader:
    """Decision rows a Spark job made (``id``, ``decision``, and ``raw``: the input line, none for an account
    decision), acted on and stored by the local pipeline's own stages, in the store behind ``engine``."""

    def __init__(self, engine: Any, fmt: str, *, batch_size: int = 1000, clock: Any = None) -> None:
        from bastion import catalogue
        from bastion.pipeline.runtime import Pipeline
        from bastion.policy.engine import PolicyEngine
        from bastion.policy.loader import load_policy
        from bastion.store.writer import Store

        self.parse = LINE_FORMATS[fmt]
        sinks = catalogue.build_sinks(list(catalogue.BUILTIN_SINKS), engine=engine)
        self.pipeline = Pipeline(engine=PolicyEngine(load_policy(None)), detectors=[], store=Store(engine),
                                 sinks=sinks, batch_size=batch_size, **({"clock": clock} if clock is not None else {}))

    def load(self, rows: list[dict[str, Any]], stats: Any) -> None:
        """Act on and store ``rows``: account decisions as made; each post or report read again from its line,
        its decision as made (never decided again), one version of a post per pipeline batch."""
        accounts = [Decision.from_record(json.loads(r["decision"])) for r in rows if r.get("raw") is None]
        if accounts:  # the account stage's decisions: acted on and stored as made
            self.pipeline.process(Batch(), stats, elsewhere=accounts)
        pending = [(Decision.from_record(json.loads(r["decision"])), r["raw"]) for r in rows
                   if r.get("raw") is not None]
        # one version of a post per batch (the pipeline dedupes a batch by post id); the rest go next
        while pending:
            seen: set[str] = set()
            this: list[tuple[Decision, str]] = []
            later: list[tuple[Decision, str]] = []
            for d, raw in pending:
                (later if d.subject_id in seen else this).append((d, raw))
                seen.add(d.subject_id)
            _load_batch(self.pipeline, stats, this, self.parse)
            pending = later

    def quarantine(self, items: list[Quarantined], stats: Any) -> None:
        """Quarantined lines into the store's quarantine, once per run and line."""
        if items:
            self.pipeline.process(Batch(quarantined=items), stats)


def load(out: str | Path, db_url: str | None, *, batch_size: int = 1000, clock: Any = None) -> dict[str, Any]:
    """Load ``out`` (a ``spark scan`` directory) into the store at ``db_url``. Returns the run's counts."""
    from bastion.pipeline.runtime import ScanStats
    from bastion.store.db import open_engine

    root = Path(out)
    problems = manifest.verify(root)
    if problems:
        raise IntegrityError(f"{root}: not loaded, the output does not match its manifest: {problems[0]}"
                             + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    doc = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    engine = open_engine(db_url, bulk=True)
    try:
        loader = Loader(engine, str(doc.get("summary", {}).get("format", "native")), batch_size=batch_size,
                        clock=clock)
        pipeline = loader.pipeline
        stats = ScanStats(run_id="run_spark_" + uuid.uuid4().hex[:16])
        pipeline.store.start_run(stats.run_id, [str(root)], pipeline.clock())
        for rows in _rows(root, batch_size):
            loader.load(rows, stats)
        floods = _floods(root)
        if floods:  # the entries the flood stage quarantined: paused in the banks, each with its review job
            from bastion.store.media import MediaBankStore

            MediaBankStore(engine).record_flood(floods)
        summary = {**stats.to_json(), "spark_manifest": {"merkle_root": doc["merkle_root"],
                                                         "partitions": len(doc["partitions"])}}
        pipeline.store.finish_run(stats.run_id, summary, pipeline.clock())
        return {"decisions": stats.decisions, "actions": dict(stats.actions), "merkle_root": doc["merkle_root"],
                "run_id": stats.run_id, "floods": len(floods)}
    finally:
        engine.dispose()


def _floods(root: Path) -> list[FloodEvent]:
    """The flood quarantines the job found (``floods/``, checked against the manifest before loading)."""
    from bastion.media.banks.flood import FloodEvent

    return [FloodEvent.from_json(json.loads(line)) for f in sorted((root / manifest.FLOODS).glob("part-*"))
            for line in f.read_text(encoding="utf-8").splitlines() if line]


def _load_batch(pipeline: Any, stats: Any, rows: list[tuple[Decision, str]], parse: Any) -> None:
    from bastion.pipeline.runtime import REPORT_KEY

    posts: list[Post] = []
    reports: list[Report] = []
    decided: dict[tuple[str, str], Decision] = {}
    signals: list[dict[str, Signal]] = []
    for d, raw in rows:
        if d.subject_kind == Subject.REPORT:  # the report itself is stored with its decision
            report = next(r for r in parse(json.loads(raw)) if isinstance(r, Report) and r.id == d.subject_id)
            reports.append(report)
            decided[(report.id, REPORT_KEY)] = d
            continue
        post = next(p for p in parse(json.loads(raw)) if isinstance(p, Post) and p.id == d.subject_id)
        posts.append(post)
        decided[(post.id, post.content_digest())] = d
        signals.append(_signals(d))
    pipeline.process(Batch(posts=posts, reports=reports), stats, _Given(signals), decided=decided)


class StreamSink:
    """``foreachBatch`` for ``bastion spark stream --db``: each micro-batch's decisions and quarantined lines
    into the store, exactly once. A micro-batch is one run whose id the checkpoint and the batch id fix: a
    micro-batch Spark retries after a crash (the checkpoint had not yet recorded it) finds its run finished
    and is skipped, or unfinished and is loaded again, which stores nothing twice (decision ids are
    deterministic, a stored decision is not acted on again, a run quarantines a line once)."""

    def __init__(self, db_url: str | None, fmt: str, checkpoint: str, *, batch_size: int = 1000) -> None:
        import hashlib

        from bastion.store.db import open_engine

        self.engine = open_engine(db_url, bulk=True)
        self.loader = Loader(self.engine, fmt, batch_size=batch_size)
        self.batch_size = batch_size
        self.prefix = "run_stream_" + hashlib.sha256(str(checkpoint).encode()).hexdigest()[:12]
        self.loaded = 0  # micro-batches stored by this sink (not those skipped as already stored)

    def __call__(self, df: Any, batch_id: int) -> None:
        from bastion.pipeline.runtime import ScanStats

        store = self.loader.pipeline.store
        run_id = f"{self.prefix}_{batch_id}"
        finished = store.run_finished(run_id)
        if finished:
            return
        stats = ScanStats(run_id=run_id)
        clock = self.loader.pipeline.clock
        if finished is None:
            store.start_run(run_id, [f"spark stream micro-batch {batch_id}"], clock())
        rows: list[dict[str, Any]] = []
        quarantined: list[Quarantined] = []
        cols = ("kind", "id", "decision", "raw", "file", "line", "record_id", "field", "reason")
        for r in df.where("kind in ('decision', 'quarantine')").select(*cols).toLocalIterator():
            if r["kind"] == "quarantine":
                quarantined.append(Quarantined(file=r["file"], line=int(r["line"]), reason=r["reason"],
                                               record_id=r["record_id"], field=r["field"], raw=r["raw"] or ""))
                continue
            rows.append({"id": r["id"], "decision": r["decision"], "raw": r["raw"]})
            if len(rows) >= self.batch_size:
                self.loader.load(rows, stats)
                rows = []
        if rows:
            self.loader.load(rows, stats)
        self.loader.quarantine(quarantined, stats)
        store.finish_run(run_id, stats.to_json(), clock())
        self.loaded += 1

    def close(self) -> None:
        self.engine.dispose()
