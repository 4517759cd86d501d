"""``bastion spark``: the scan on Apache Spark (needs ``bastion[spark]`` and a Java runtime)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bastion.spark.score import DEFAULT_DETECTORS

console = Console()

MasterOpt = Annotated[str, typer.Option(help="local[*], spark://HOST:PORT, k8s://..., yarn.")]
PolicyOpt = Annotated[Path | None, typer.Option(help="Policy YAML (default: the shipped policy).")]
AssetsOpt = Annotated[Path | None, typer.Option(help="Protected-assets registry (YAML) for threats.")]
DetectorsOpt = Annotated[str, typer.Option(help="Comma-separated detectors: the per-post ones (lexicon, propaganda, "
                                           "threat, media), and account_risk, ban_evasion (account decisions) "
                                           "and campaign (hashtag campaigns), by Spark's own operators.")]


def spark_scan(
    inputs: Annotated[list[str], typer.Argument(help="Input paths Spark reads (local, hdfs://, s3a://); JSON Lines "
                                                "in the --format given.", show_default=False)],
    out: Annotated[str, typer.Option("--out", help="Output directory: decisions/ (Parquet by date), "
                                     "quarantine/ (JSON Lines), _summary.json.")],
    master: MasterOpt = "local[*]",
    fmt: Annotated[str, typer.Option("--format", help="native (records, JSON Lines), corpus (the evaluation layout), "
                                     "twitter_v1, twitter_v2, mastodon, activitypub (the platforms' JSON Lines) or "
                                     "parquet (native records as rows).")]
    = "native",
    policy: PolicyOpt = None,
    assets: AssetsOpt = None,
    detectors: DetectorsOpt = DEFAULT_DETECTORS,
    db: Annotated[str | None, typer.Option(help="Database the media detector reads its hash banks from.")] = None,
    now: Annotated[str | None, typer.Option(help="ISO time every decision is made at (default: now); the same "
                                            "time makes a rerun write the same rows.")] = None,
) -> None:
    """Scan records on Spark into decisions (Parquet), with the quarantine beside them."""
    from bastion.spark.job import scan, session

    config = _config(now, detectors, fmt, policy, assets, db)
    spark = session(master)
    try:
        summary = scan(spark, inputs, out, config)
    finally:
        spark.stop()
    console.print(f"[bold]spark scan[/]: {summary['lines']} lines, {summary['decisions']} decisions, "
                  f"{summary['quarantined']} quarantined -> {out}; Merkle root {summary['merkle_root']}")


def spark_stream(
    checkpoint: Annotated[str, typer.Option(help="Checkpoint directory: a restart resumes exactly once.")],
    out: Annotated[str | None, typer.Option("--out", help="Output directory (Parquet by kind and date).")] = None,
    db: Annotated[str | None, typer.Option(help="Instead of --out: the store each micro-batch is loaded into "
                                           "(cases, review jobs, ledger, audit), as `spark load` loads a job.")]
    = None,
    source: Annotated[str, typer.Option(help="files or kafka.")] = "files",
    path: Annotated[str | None, typer.Option(help="With --source files: the directory new files arrive in.")]
    = None,
    bootstrap: Annotated[str | None, typer.Option(help="With --source kafka: HOST:PORT.")] = None,
    topic: Annotated[str | None, typer.Option(help="With --source kafka: the topic of posts.")] = None,
    master: MasterOpt = "local[*]",
    fmt: Annotated[str, typer.Option("--format", help="native (records), corpus (the evaluation layout), "
                                     "twitter_v1, twitter_v2, mastodon or activitypub (a JSON value per line).")]
    = "native",
    policy: PolicyOpt = None,
    assets: AssetsOpt = None,
    detectors: DetectorsOpt = DEFAULT_DETECTORS,
    once: Annotated[bool, typer.Option("--once", help="Process what has arrived, then stop.")] = False,
    every: Annotated[str, typer.Option(help="Without --once: the trigger interval (a micro-batch every ...).")]
    = "10 seconds",
    now: Annotated[str | None, typer.Option(help="ISO time every decision is made at (default: start).")] = None,
    late: Annotated[str, typer.Option(help="With the campaign detector: the event-time watermark's delay behind "
                                      "the latest post; older posts are decided but not counted in campaigns.")]
    = "10 minutes",
) -> None:
    """Run the scan as a Structured Streaming query (files or Kafka), exactly once through the checkpoint."""
    from bastion.spark.job import session, stream

    config = _config(now, detectors, fmt, policy, assets, None)
    spark = session(master)
    try:
        progress = stream(spark, out, checkpoint, config, source=source, path=path, bootstrap=bootstrap,
                          topic=topic, once=once, every=every, db=db, late=late)
    finally:
        spark.stop()
    console.print(f"[bold]spark stream[/]: {progress['micro_batches']} micro-batch(es), "
                  f"{progress['input_rows']} input rows -> {out or db}")


def spark_load(
    out: Annotated[Path, typer.Argument(help="A `bastion spark scan` output directory.")],
    db: Annotated[str | None, typer.Option(help="Database URL (default: the configured store).")] = None,
    batch_size: Annotated[int, typer.Option(help="Decisions per transaction.")] = 1000,
) -> None:
    """Load a Spark job's decisions into the store: cases, review jobs, ledger and audit, exactly once."""
    from bastion.settings import Settings
    from bastion.spark.load import load

    res = load(out, Settings.load(db_url=db).db_url, batch_size=batch_size)
    acts = ", ".join(f"{k} {v}" for k, v in sorted(res["actions"].items())) or "no actions"
    console.print(f"[bold]spark load[/]: {res['decisions']} decisions ({acts}) from {out}; Merkle root "
                  f"{res['merkle_root']} recorded in the audit chain ({res['run_id']})")


def _config(now: str | None, detectors: str, fmt: str, policy: Path | None, assets: Path | None,
            db: str | None) -> Any:
    from bastion.errors import InputError
    from bastion.spark.score import Config

    at = datetime.fromisoformat(now) if now else datetime.now(UTC)
    if at.tzinfo is None:
        raise InputError(f"--now {now!r}: give a time zone (e.g. 2026-12-05T00:00:00+00:00)")
    return Config(now=at.isoformat(), detectors=detectors, format=fmt, policy=str(policy) if policy else None,
                  assets=str(assets) if assets else None, db_url=db)


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    sp = typer.Typer(help="Run the scan on Apache Spark.", no_args_is_help=True)
    sp.command("scan")(spark_scan)
    sp.command("stream")(spark_stream)
    sp.command("load")(spark_load)
    app.add_typer(sp, name="spark")
