"""``bastion spark``: the scan on Apache Spark (needs ``bastion[spark]`` and a Java runtime)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def spark_scan(
    inputs: Annotated[list[str], typer.Argument(help="Input paths Spark reads (local, hdfs://, s3a://); JSON Lines "
                                                "in the --format given.", show_default=False)],
    out: Annotated[str, typer.Option("--out", help="Output directory: decisions/ (Parquet by date), "
                                     "quarantine/ (JSON Lines), _summary.json.")],
    master: Annotated[str, typer.Option(help="local[*], spark://HOST:PORT, k8s://..., yarn.")] = "local[*]",
    fmt: Annotated[str, typer.Option("--format", help="native (records) or corpus (the evaluation layout).")]
    = "native",
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (default: the shipped policy).")] = None,
    assets: Annotated[Path | None, typer.Option(help="Protected-assets registry (YAML) for threats.")] = None,
    detectors: Annotated[str, typer.Option(help="Comma-separated per-post detectors (lexicon, propaganda, "
                                           "threat, media).")] = "lexicon,propaganda,threat",
    db: Annotated[str | None, typer.Option(help="Database the media detector reads its hash banks from.")] = None,
    now: Annotated[str | None, typer.Option(help="ISO time every decision is made at (default: now); the same "
                                            "time makes a rerun write the same rows.")] = None,
) -> None:
    """Scan records on Spark into decisions (Parquet), with the quarantine beside them."""
    from bastion.errors import DependencyError, InputError
    from bastion.spark.score import Config

    try:
        from bastion.spark.job import scan, session
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DependencyError(f"bastion spark needs PySpark: pip install 'bastion[spark]' ({exc})") from exc
    at = datetime.fromisoformat(now) if now else datetime.now(UTC)
    if at.tzinfo is None:
        raise InputError(f"--now {now!r}: give a time zone (e.g. 2026-12-05T00:00:00+00:00)")
    config = Config(now=at.isoformat(), detectors=detectors, format=fmt, policy=str(policy) if policy else None,
                    assets=str(assets) if assets else None, db_url=db)
    spark = session(master)
    try:
        summary = scan(spark, inputs, out, config)
    finally:
        spark.stop()
    console.print(f"[bold]spark scan[/]: {summary['lines']} lines, {summary['decisions']} decisions, "
                  f"{summary['quarantined']} quarantined -> {out}; Merkle root {summary['merkle_root']}")


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    sp = typer.Typer(help="Run the scan on Apache Spark.", no_args_is_help=True)
    sp.command("scan")(spark_scan)
    app.add_typer(sp, name="spark")
