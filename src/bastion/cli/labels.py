"""``bastion labels``: the labelled-example store (export, import, stats, backfill)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from bastion.cli.media import DbOpt, open_db

console = Console(stderr=True)
out = Console()


def labels_export(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="JSON Lines file (the corpus format plus "
                                           "provenance).")],
    every_row: Annotated[bool, typer.Option("--all", help="Every label, not one per post by the conflict "
                                            "rule.")] = False,
    db: DbOpt = None,
) -> None:
    """Write labels: one per post by the conflict rule (later human decision wins; an appeal outcome beats a
    first review; decisions made here beat imported labels)."""
    from bastion.review.labels import iter_labels

    n = 0
    with open_db(db) as engine, out_path.open("wb") as fh:
        for row in iter_labels(engine, resolved=not every_row):
            fh.write(orjson.dumps(row) + b"\n")
            n += 1
    console.print(f"wrote {n:,} labels to {out_path}")


def labels_import(
    path: Annotated[Path, typer.Argument(help="Labelled posts in the evaluation-corpus JSONL format (id, class, "
                                         "text, lang, dataset, meta.account).")],
    db: DbOpt = None,
) -> None:
    """Import labelled posts; each record without id, class or text is named and skipped."""
    from rich.progress import Progress

    from bastion.errors import InputError
    from bastion.review.labels import import_file

    if not path.is_file():
        raise InputError(f"no such file: {path}")
    with open_db(db) as engine, Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing {path.name}", total=None)
        imported, present, problems = import_file(engine, path,
                                                  progress=lambda n: progress.advance(task, n))
    for p in problems[:20]:
        console.print(f"[yellow]skipped[/] {p}", highlight=False)
    console.print(f"{path.name}: imported {imported:,}, already present {present:,}, skipped {len(problems):,}")
    if problems and not imported and not present:
        raise typer.Exit(1)


def labels_stats(db: DbOpt = None) -> None:
    """Counts by source, label and language (JSON)."""
    from bastion.review.labels import stats

    with open_db(db) as engine:
        out.print_json(json.dumps(stats(engine)))


def labels_backfill(db: DbOpt = None) -> None:
    """Record labels for review and appeal decisions made before the label store existed."""
    from bastion.review.labels import backfill_reviews

    with open_db(db) as engine:
        n = backfill_reviews(engine)
    console.print(f"recorded {n:,} labels from earlier decisions")


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    lab = typer.Typer(help="Labelled examples from reviewers, appeals and imported files.", no_args_is_help=True)
    lab.command("export")(labels_export)
    lab.command("import")(labels_import)
    lab.command("stats")(labels_stats)
    lab.command("backfill")(labels_backfill)
    app.add_typer(lab, name="labels")
