"""The Spark batch job behind ``bastion spark scan``.

    input lines ─▶ (file, line, text) ─▶ mapInPandas(score_lines) ─▶ decisions/ (Parquet, by date)
                                                                 └▶ quarantine/ (JSON Lines)

Lines are read with Spark's own text source (local paths, ``hdfs://``, ``s3a://``: whatever the cluster
reads) and numbered per file, so a quarantined line names its file and line as ``bastion scan`` does. Each
Python worker builds the detectors and policy once (:func:`bastion.spark.score.scorer`); models and lexicons
ship inside the package, so nothing is downloaded at run time. Every decision is made at the run's fixed time,
and its id depends only on the post, its content and the policy version: a retried task or a rerun writes
the same rows.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from bastion.errors import DependencyError, InputError
from bastion.spark import manifest, unavailable
from bastion.spark.score import (
    ACCOUNT_STAGE,
    CAMPAIGN_STAGE,
    EVASION_STAGE,
    MEDIA,
    SPARK_SCHEMA,
    STAGES,
    Config,
    check,
    frame,
    scorer,
)


def session(master: str = "local[*]", app_name: str = "bastion") -> Any:
    """A Spark session for ``master`` (``local[*]``, ``spark://...``, ``k8s://...``, ``yarn``). Python workers
    run this interpreter unless ``PYSPARK_PYTHON`` names another (on a cluster: one with ``bastion``
    installed)."""
    why = unavailable()  # before PySpark tries to launch a JVM that is not there (its error names no cause)
    if why is not None:
        raise DependencyError(f"bastion spark cannot run here: {why}")
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    if master.startswith("local"):  # one machine: a few shuffle partitions per core, not a cluster's 200
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * (os.cpu_count() or 1)))
        # the one JVM is driver and executor, and Spark's 1 GB default heap spills the job's cache to disk
        if "SPARK_DRIVER_MEMORY" not in os.environ:
            builder = builder.config("spark.driver.memory", local_heap())
    return (builder
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            # blocks of at most 16 MB: a large file gives each core several tasks, so no core idles while
            # the last, slowest task of a few big ones finishes (Python scoring dominates, not reading)
            .config("spark.sql.files.maxPartitionBytes", "16m")
            .getOrCreate())


def local_heap(physical: int | None = None) -> str:
    """The JVM heap of a local master: a quarter of the machine's memory, between 1 and 8 GB (Python workers,
    the JVM's own overhead and the page cache share the rest)."""
    if physical is None:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, min(8, physical // 4 // 2**30))}g"


def _numbered(spark: Any, inputs: Sequence[str]) -> Any:
    """One row per input line: (file, line number from 1, text), numbered in the JVM.

    Spark's text source reads each file in blocks, in parallel; a line's number is its place in its block
    plus the lines of the file's earlier blocks. A first pass counts each block's lines (in the JVM, no Python
    involved: only a row per block reaches the driver), the driver turns the counts into each block's first
    line number, and the scan itself adds it to each row's id (``monotonically_increasing_id`` numbers a
    partition's rows in order, so a block's rows are consecutive)."""
    from pyspark.sql import functions as F

    df = spark.read.text(list(inputs)).select(
        F.col("_metadata.file_path").alias("uri"), F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("row"), F.col("value").alias("text"))
    blocks: dict[str, list[tuple[int, int, int]]] = {}
    for r in df.groupBy("uri", "block").agg(F.min("row").alias("first"), F.count("*").alias("n")).collect():
        blocks.setdefault(r["uri"], []).append((int(r["block"]), int(r["first"]), int(r["n"])))
    shifts = []
    for uri, parts in blocks.items():
        before = 0  # lines in the file's earlier blocks
        for block, first, n in sorted(parts):
            shifts.append((uri, block, _given(uri, inputs), before + 1 - first))
            before += n
    if not shifts:  # nothing but empty files
        return spark.createDataFrame([], "file string, line long, text string")
    offsets = spark.createDataFrame(shifts, "uri string, block long, file string, shift long")
    return df.join(F.broadcast(offsets), ["uri", "block"]) \
        .select("file", (F.col("row") + F.col("shift")).alias("line"), "text")


def _given(uri: str, inputs: Sequence[str]) -> str:
    """The name a quarantined line's file goes by: the input path as given when the user named the file itself
    (as ``bastion scan`` reports it), else the file's own path (a file found in a directory or by a glob)."""
    local = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
    for path in inputs:
        if "://" not in path and os.path.abspath(path) == os.path.normpath(local):
            return path
        if path == uri:
            return path
    return local


def _rows_of(spark: Any, inputs: Sequence[str]) -> Any:
    """Parquet input: one row per record (native record fields as columns), as its JSON object; the "line" is
    the row's place in its file (Spark's row id, which orders rows within a file)."""
    from pyspark.sql import functions as F

    df = spark.read.parquet(*inputs)
    return df.select(F.input_file_name().alias("file"), (F.monotonically_increasing_id() + 1).alias("line"),
                     F.to_json(F.struct(*df.columns)).alias("text"))


def scan(spark: Any, inputs: Sequence[str], out: str | Path, config: Config) -> dict[str, Any]:
    """Score ``inputs`` into ``out``: ``decisions/`` (Parquet, partitioned by ``date``; one row per post with
    its decision as JSON), ``quarantine/`` (JSON Lines: file, line, record id, field, reason), ``_summary.json``
    and ``manifest.json`` (:mod:`bastion.spark.manifest`). Returns the summary with the Merkle root."""
    from pyspark.sql import functions as F

    names = check(config)  # fail here, naming the problem, not in a task
    conf = config.to_json()

    lines = _rows_of(spark, inputs) if config.format == "parquet" else _numbered(spark, inputs)
    scored = lines.mapInPandas(_score_batches(conf), SPARK_SCHEMA).persist()
    seconds: dict[str, float] = {}  # wall time of each phase, for sizing (the first action runs the scoring)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    campaigns: list[Any] = []
    floods: list[dict[str, Any]] = []
    staged: Any = None  # the decisions after the campaign stage, kept while they are chained and written
    try:
        out = str(out)
        rows = scored.where("kind = 'decision'")
        # the stages that see many posts amend some posts' decisions, which are decided again before the chains
        amendments = []
        if MEDIA in names:  # flood quarantines, counted per bank entry over the whole job
            from bastion.spark.media import flood_stage

            amended, floods = flood_stage(scored, conf)
            amendments.append(amended)
            lap("floods")
        if CAMPAIGN_STAGE in names:  # campaigns: each post they take in gets the campaign signal
            from bastion.spark.campaigns import campaign_stage

            amended, campaigns = campaign_stage(spark, scored, conf)
            amendments.append(amended)
            lap("campaigns")
        if amendments:
            from functools import reduce

            from bastion.spark.amend import redecide

            rows = staged = redecide(rows, reduce(lambda a, b: a.unionByName(b), amendments), conf).persist()
        # tamper evidence: each partition's hash chain over the digests the tasks made (a post decided in two
        # tasks has one id and one digest: kept once); only ids and digests travel, only the heads come back
        heads = rows.select("date", "id", "digest").groupBy("date") \
            .applyInPandas(_partition_head, "date string, count long, head string")
        partitions = {r["date"]: (int(r["count"]), r["head"]) for r in heads.collect()}
        decided = sum(n for n, _ in partitions.values())
        lap("chain" if staged is not None else "read_score_chain")
        # the tasks counted their lines as they read them: the input is read once, not again to count it
        read, made = scored.where("kind in ('lines', 'decision')") \
            .agg(F.sum(F.when(F.col("kind") == "lines", F.col("line"))), F.sum((F.col("kind") == "decision")
                                                                             .cast("long"))).first()
        decisions = rows.select("id", "subject_id", "date", "decision", "raw")
        if (made or 0) != decided:  # a post repeated in two tasks was decided twice, identically: keep one row
            decisions = decisions.dropDuplicates(["id"])  # (a shuffle, needed only then)
        decisions.write.mode("overwrite").partitionBy("date").parquet(f"{out}/decisions")
        quarantined = scored.where("kind = 'quarantine'").select("file", "line", "record_id", "field", "reason",
                                                                "raw")
        quarantined.write.mode("overwrite").json(f"{out}/quarantine")
        found = [json.dumps(c.to_json(), sort_keys=True) for c in campaigns]
        flooded = [json.dumps(f, sort_keys=True) for f in floods]
        # campaigns and floods (a few lines each), vouched for by their digests in the summary
        for stage, name, lines in ((CAMPAIGN_STAGE, manifest.CAMPAIGNS, found), (MEDIA, manifest.FLOODS, flooded)):
            if stage in names:
                spark.createDataFrame([(t,) for t in lines], "value string").coalesce(1) \
                    .write.mode("overwrite").text(f"{out}/{name}")
        lap("write")
        accounts = 0
        if ACCOUNT_STAGE in names or EVASION_STAGE in names:  # account-level work: Spark's operators
            from bastion.spark.accounts import account_decisions
            from bastion.spark.evasion import evasion_decisions, evasion_signals

            evasion = None
            if EVASION_STAGE in names:
                evasion = evasion_signals(scored, conf)
                lap("evasion")
            acct = (account_decisions(scored, conf, evasion) if ACCOUNT_STAGE in names
                    else evasion_decisions(evasion, conf)).persist()
            acct.write.mode("overwrite").parquet(f"{out}/{manifest.ACCOUNTS}")
            for r in acct.select(F.lit(manifest.ACCOUNTS).alias("date"), "id", "digest").groupBy("date") \
                    .applyInPandas(_partition_head, "date string, count long, head string").collect():
                partitions[manifest.ACCOUNTS] = (int(r["count"]), r["head"])
                accounts = int(r["count"])
            acct.unpersist()
            lap("accounts")
        summary = {"inputs": list(inputs), "lines": int(read or 0), "decisions": decided,
                   "account_decisions": accounts,
                   **({"campaigns": len(found), "campaigns_sha256": manifest.lines_digest(found)}
                      if CAMPAIGN_STAGE in names else {}),
                   **({"floods": len(flooded), "floods_sha256": manifest.lines_digest(flooded)}
                      if MEDIA in names else {}), "quarantined": quarantined.count(),
                   "detectors": list(names), "now": config.now, "format": config.format,
                   "policy": config.policy or "default", "seconds": seconds}
    finally:
        if staged is not None:
            staged.unpersist()
        scored.unpersist()
    doc = manifest.build(partitions, summary)
    if "://" not in out:  # a local directory: the summary and manifest beside the datasets
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (Path(out) / "manifest.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return {**summary, "merkle_root": doc["merkle_root"]}


def _partition_head(pdf: Any) -> Any:
    import pandas as pd

    date = str(pdf["date"].iloc[0])
    n, head = manifest.chain_digests(date, set(zip(pdf["id"], pdf["digest"], strict=True)))
    return pd.DataFrame([{"date": date, "count": n, "head": head}])


def stream(spark: Any, out: str | Path | None, checkpoint: str | Path, config: Config, *, source: str = "files",
           path: str | None = None, bootstrap: str | None = None, topic: str | None = None,
           once: bool = True, every: str = "10 seconds", db: str | None = None,
           late: str = "10 minutes") -> dict[str, Any]:
    """The same scoring as a Structured Streaming query. ``source="files"``: every new file under ``path``
    (JSON Lines; a quarantined line names its file and line); ``source="kafka"``: each message of ``topic`` is
    one line (file = ``topic:partition``, line = offset; the Kafka connector comes with the deployment,
    ``--packages org.apache.spark:spark-sql-kafka-0-10_2.13:<spark version>``).

    Rows go to Spark's Parquet file sink under ``out`` (partitioned by ``kind``: decision or quarantine, and
    ``date``), whose commit log and the ``checkpoint`` make the output exactly-once: a restarted query neither
    loses nor repeats a micro-batch. A post that arrives again in a later micro-batch is decided again with the
    same decision id (:func:`read_stream` keeps one). With ``db`` instead of ``out``, each micro-batch goes
    into that store as ``bastion spark load`` loads a job (:class:`bastion.spark.load.StreamSink`: cases,
    review jobs, ledger and audit; a retried micro-batch stores nothing twice). ``once``: process what is
    there and stop (the ``availableNow`` trigger); else run until stopped, a micro-batch every ``every``.

    With the ``campaign`` detector, the campaign stage runs in the query as a stateful operator per hashtag
    under an event-time watermark ``late`` behind the latest post (:func:`bastion.spark.campaigns.campaign_stream`);
    each micro-batch's member posts are decided again before they are written, and a hashtag's campaigns close
    when the watermark passes it. Rows then go through ``foreachBatch``: with ``out``, each micro-batch's rows
    overwrite ``out/batch=<id>/`` (so a replayed micro-batch writes the same files again).
    Returns the progress counts."""
    from pyspark.sql import functions as F

    names = check(config)
    # the whole-input stages, and media: its tasks count no floods (the job's flood stage does), so a stream
    # would never quarantine a flooding bank entry
    stages = [n for n in names if (n in STAGES and n != CAMPAIGN_STAGE) or n == MEDIA]
    if stages:
        raise InputError(f"{', '.join(stages)} run(s) in `spark scan` (over a whole input); the stream decides "
                         "posts and campaigns")
    conf = config.to_json()
    if config.format == "parquet":
        raise InputError("the stream reads JSON Lines (native or corpus); Parquet input is for `spark scan`")
    if (out is None) == (db is None):
        raise InputError("the stream writes to --out DIR or to --db URL (one of them)")
    if source == "files":
        if not path:
            raise InputError("--source files needs --path DIR")
        files = (spark.readStream.format("text").option("wholetext", "true").load(path)
                 .select(F.input_file_name().alias("file"), F.col("value").alias("text")))

        scored = files.mapInPandas(_score_batches(conf, _file_lines), SPARK_SCHEMA)
    elif source == "kafka":
        if not (bootstrap and topic):
            raise InputError("--source kafka needs --bootstrap HOST:PORT and --topic NAME")
        lines = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", bootstrap)
                 .option("subscribe", topic).option("startingOffsets", "earliest").load()
                 .selectExpr("concat(topic, ':', cast(partition as string)) as file", "offset as line",
                             "cast(value as string) as text"))
        scored = lines.mapInPandas(_score_batches(conf), SPARK_SCHEMA)
    else:
        raise InputError(f"unknown --source {source!r}; known: files, kafka")
    sink = None
    if db is not None:
        from bastion.spark.load import StreamSink

        sink = StreamSink(db, config.format, str(Path(checkpoint).resolve()) if "://" not in str(checkpoint)
                          else str(checkpoint))
    if CAMPAIGN_STAGE in names:  # the campaign stage in the query; each micro-batch amended, then written
        from bastion.spark.campaigns import campaign_stream

        rows = campaign_stream(scored, conf, late, int(spark.conf.get("spark.sql.shuffle.partitions")))
        writer = rows.writeStream.foreachBatch(_Amended(conf, sink, None if out is None else str(out)))
    elif sink is not None:
        writer = scored.writeStream.foreachBatch(sink)
    else:  # Spark's own file sink, exactly once through its commit log
        writer = scored.where("kind in ('decision', 'quarantine')").writeStream.format("parquet") \
            .option("path", str(out)).partitionBy("kind", "date")
    writer = writer.option("checkpointLocation", str(checkpoint)).outputMode("append")
    writer = writer.trigger(availableNow=True) if once else writer.trigger(processingTime=every)
    try:
        query = writer.start()
        query.awaitTermination()
    finally:
        if sink is not None:
            sink.close()
    progress = [p for p in query.recentProgress if p.get("numInputRows")]
    return {"micro_batches": len(progress), "input_rows": sum(int(p["numInputRows"]) for p in progress)}


class _Amended:
    """``foreachBatch`` behind the campaign stream: a micro-batch's rows with its member posts decided again
    (:func:`bastion.spark.campaigns.amend_batch`), into the store (``sink``) or under ``out/batch=<id>/``."""

    def __init__(self, conf: str, sink: Any, out: str | None) -> None:
        self.conf, self.sink, self.out = conf, sink, out

    def __call__(self, df: Any, batch_id: int) -> None:
        from bastion.spark.campaigns import amend_batch

        df.persist()  # read by each part of the amendment: the stateful step runs once
        try:
            rows = amend_batch(df, self.conf)
            if self.sink is not None:
                self.sink(rows, batch_id)
            else:
                rows.write.mode("overwrite").partitionBy("kind", "date").parquet(f"{self.out}/batch={batch_id}")
        finally:
            df.unpersist()


def _numbered_lines(df: Any) -> Iterable[tuple[str, int, str]]:
    """A batch of (file, line, text) rows as they are."""
    return zip(df["file"], df["line"].astype(int), df["text"], strict=True)


def _file_lines(df: Any) -> Iterable[tuple[str, int, str]]:
    """A batch of whole files (file, text), split into numbered lines."""
    return [(f, n, line) for f, text in zip(df["file"], df["text"], strict=True)
            for n, line in enumerate(text.splitlines(), 1)]


def _score_batches(conf: str, lines_of: Callable[[Any], Iterable[tuple[str, int, str]]] = _numbered_lines) -> Any:
    """The ``mapInPandas`` function: each Arrow batch's lines through the worker's scorer, and one ``lines``
    row counting the lines it read (the job's summary sums them)."""
    def score(batches: Iterator[Any]) -> Iterator[Any]:
        s = scorer(conf)
        for df in batches:
            lines = list(lines_of(df))
            yield frame([*s.score_lines(lines), {"kind": "lines", "line": len(lines)}])

    return score



def read_stream(spark: Any, out: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(decisions, quarantined) a streaming query has written, one decision per id."""
    df = spark.read.parquet(str(out))
    decisions = {r["id"]: json.loads(r["decision"]) for r in df.where("kind = 'decision'").collect()}
    quarantined = [{k: r[k] for k in ("file", "line", "record_id", "field", "reason")}
                   for r in df.where("kind = 'quarantine'").collect()]
    return list(decisions.values()), quarantined


def read_decisions(spark: Any, out: str | Path) -> list[dict[str, Any]]:
    """The decisions a scan wrote, as the ``--out`` objects of ``bastion scan`` (with their signals)."""
    rows = spark.read.parquet(f"{out}/decisions").select("decision").collect()
    return [json.loads(r["decision"]) for r in rows]
