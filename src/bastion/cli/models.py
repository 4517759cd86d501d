"""``bastion models``: the model registry (list, show, register, shadow, promote, rollback, compare)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bastion.cli.media import DbOpt, open_db

console = Console(stderr=True)
out = Console()
ActorOpt = Annotated[str, typer.Option("--actor", help="Who does this (recorded in the audit log).")]


def models_list(db: DbOpt = None) -> None:
    """Registered text models, oldest first, with their status."""
    from rich.table import Table

    from bastion.text.registry import list_models

    with open_db(db) as engine:
        rows = list_models(engine)
    table = Table("version", "status", "sha256", "MB", "registered", "live since", "live until")
    for r in rows:
        table.add_row(r["version"], r["status"], r["sha256"][:12], f"{r['size'] / 1e6:.1f}", r["created_at"][:19],
                      (r["live_since"] or "")[:19], (r["live_until"] or "")[:19])
    out.print(table if rows else "no models registered: the shipped model is live")


def models_show(version: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
    """One model with its card (JSON)."""
    from bastion.text.registry import show

    with open_db(db) as engine:
        out.print_json(json.dumps(show(engine, version), default=str))


def models_register(path: Annotated[Path, typer.Argument(help="A model file (.npz).")], db: DbOpt = None,
                    actor: ActorOpt = "cli") -> None:
    """Store a model file in the registry as a candidate."""
    from bastion.text.registry import register_file

    with open_db(db) as engine:
        row = register_file(engine, path, actor=actor)
    console.print(f"registered {row['version']} ({row['status']}, sha256 {row['sha256'][:12]})")


def models_shadow(version: Annotated[str | None, typer.Argument(help="Omit with --off.")] = None,
                  off: Annotated[bool, typer.Option("--off", help="No shadow model.")] = False,
                  db: DbOpt = None, actor: ActorOpt = "cli") -> None:
    """Score every post with this model too, next to the live one (recorded, never acted on)."""
    from bastion.errors import InputError
    from bastion.text.registry import set_shadow

    if (version is None) != off:
        raise InputError("give a version, or --off")
    with open_db(db) as engine:
        set_shadow(engine, version, actor=actor)
    console.print(f"shadow model: {version or 'none'} (runs started from now on)")


def models_promote(version: Annotated[str, typer.Argument()], db: DbOpt = None, actor: ActorOpt = "cli") -> None:
    """Make a model live (audited); the one it replaces is retired."""
    from bastion.text.registry import promote

    with open_db(db) as engine:
        previous = promote(engine, version, actor=actor)
    console.print(f"live model: {version} (was {previous or 'the shipped model'}); runs started from now on use it")


def models_rollback(db: DbOpt = None, actor: ActorOpt = "cli") -> None:
    """Give the live status back to the model live before (or the shipped model); audited."""
    from bastion.text.registry import rollback

    with open_db(db) as engine:
        retired, restored = rollback(engine, actor=actor)
    console.print(f"rolled back {retired}; live model: {restored or 'the shipped model'}")


def models_compare(
    candidate: Annotated[str | None, typer.Option(help="Version to compare (default: the shadow model).")] = None,
    days: Annotated[int, typer.Option(help="Labels of the last N days (0: all).")] = 30,
    queue: Annotated[list[str] | None, typer.Option(
        help="Only labels from this queue (repeatable), e.g. a sampled audit of what a removal rule would "
             "take: a fair sample for the removal threshold each model earns.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report here.")] = None,
    db: DbOpt = None,
) -> None:
    """Live against shadow (or --candidate) on recent labelled posts: precision and recall at the policy's
    thresholds and the live outcomes that would change, by class and language."""
    from bastion.errors import InputError
    from bastion.review.labels import iter_labels
    from bastion.text.model import TextModel
    from bastion.text.registry import cached_file, compare, live_and_shadow

    with open_db(db) as engine:
        live_path, shadow_path = live_and_shadow(engine)
        other = cached_file(engine, candidate) if candidate else shadow_path
        if other is None:
            raise InputError("no shadow model and no --candidate to compare with")
        since = datetime.now(UTC) - timedelta(days=days) if days > 0 else None
        rows = [r for r in iter_labels(engine, since=since) if not queue or r.get("queue") in queue]
    report = compare(rows, TextModel.load(live_path or "default"), TextModel.load(other))
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    out.print_json(json.dumps(report))


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    m = typer.Typer(help="Model registry: versions, live, shadow, promotion and rollback.", no_args_is_help=True)
    m.command("list")(models_list)
    m.command("show")(models_show)
    m.command("register")(models_register)
    m.command("shadow")(models_shadow)
    m.command("promote")(models_promote)
    m.command("rollback")(models_rollback)
    m.command("compare")(models_compare)
    app.add_typer(m, name="models")
