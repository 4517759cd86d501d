"""``bastion exchange``: hash-exchange collaborations through python-threatexchange (add, list, fetch,
status, report, enable/disable)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from bastion.cli.media import DbOpt

console = Console(stderr=True)
out = Console()


def _stores(db: str | None) -> Any:
    from bastion.store.db import open_engine
    from bastion.store.exchanges import ExchangeStore

    return ExchangeStore(open_engine(db))


def _settings(pairs: list[str] | None) -> dict[str, Any]:
    from bastion.errors import InputError

    config: dict[str, Any] = {}
    for p in pairs or []:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise InputError(f"--set {p!r}: expected key=value")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


def exchange_add(
    name: Annotated[str, typer.Argument(help="Collaboration name.")],
    api: Annotated[str, typer.Option("--api", help="fb_threatexchange, ncmec, stop_ncii, tat, file or sample.")],
    bank: Annotated[str, typer.Option("--bank", help="Bank its signals go into (must exist).")],
    settings: Annotated[list[str] | None, typer.Option("--set", help="A collaboration setting key=value "
                                                       "(e.g. privacy_group=123, filename=/path, "
                                                       "signal_type=pdq, endpoint=URL).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Change an existing collaboration.")] = False,
    db: DbOpt = None,
) -> None:
    """Add a collaboration (its settings are checked against the pytx API's own config)."""
    from bastion.media.exchange import collab_config

    config = _settings(settings)
    collab_config(api, name, config)  # refuses unknown or missing settings now, not at fetch time
    _stores(db).add(name, api, bank, config, replace=replace)
    console.print(f"exchange {name}: {api} -> bank {bank}")


def exchange_list(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List collaborations with their last fetch."""
    rows = _stores(db).list()
    if as_json:
        out.print_json(json.dumps(rows, default=str))
        return
    from rich.table import Table

    table = Table("name", "api", "bank", "enabled", "last fetch", "status", "fetched", "added", "removed")
    for r in rows:
        table.add_row(r["name"], r["api"], r["bank"], "yes" if r["enabled"] else "no",
                      str(r["last_fetch_at"] or "")[:19], (r["last_status"] or "")[:40], f"{r['fetched']:,}",
                      f"{r['added']:,}", f"{r['removed']:,}")
    out.print(table)


def exchange_status(name: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
    """One collaboration's settings, checkpoint and counts (JSON)."""
    out.print_json(json.dumps(_stores(db).get(name), default=str))


def fetch_exchange(store: Any, name: str, *, max_changes: int | None = None, progress: Any = None
                   ) -> dict[str, int]:
    """Fetch one collaboration from its checkpoint, applying and checkpointing each change."""
    from bastion.media.exchange import changes, make_api

    ex = store.get(name)
    totals = {"changes": 0, "updates": 0, "added": 0, "updated": 0, "removed": 0, "skipped": 0}
    try:
        api = make_api(ex["api"], name, ex["config"])
        for change in changes(api, name, ex["bank"], ex["checkpoint"]):
            added, updated, removed = store.apply(name, ex["bank"], change)
            totals["changes"] += 1
            for k, v in (("updates", change.updates), ("added", added), ("updated", updated),
                         ("removed", removed), ("skipped", change.skipped)):
                totals[k] += v
            if progress is not None:
                progress(totals)
            if max_changes is not None and totals["changes"] >= max_changes:
                break
    except Exception as exc:
        store.record_status(name, f"error: {exc}")
        raise
    store.record_status(name, "ok: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return totals


def exchange_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Collaborations (default: every enabled one).")] = None,
    from_scratch: Annotated[bool, typer.Option("--from-scratch", help="Forget the checkpoint first.")] = False,
    max_changes: Annotated[int | None, typer.Option("--max-changes", help="Stop after this many fetched "
                                                    "changes (resume later from the checkpoint).")] = None,
    db: DbOpt = None,
) -> None:
    """Fetch new and changed signals into the collaboration's bank, resuming from the stored checkpoint."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    store = _stores(db)
    todo = names or [r["name"] for r in store.list() if r["enabled"]]
    failed = 0
    for name in todo:
        if from_scratch:
            store.reset(name)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as p:
            task = p.add_task(f"fetching {name}")

            def show(t: dict[str, int], name: str = name, task: Any = task, p: Any = p) -> None:
                p.update(task, description=f"fetching {name}: {t['updates']:,} updates, {t['added']:,} added")

            try:
                totals = fetch_exchange(store, name, max_changes=max_changes, progress=show)
            except Exception as exc:  # one collaboration failing does not stop the others
                from bastion.errors import BastionError

                if not isinstance(exc, BastionError):
                    raise
                console.print(f"[red]{name}[/]: {exc}", highlight=False)
                failed += 1
                continue
        console.print(f"{name}: {totals['updates']:,} updates in {totals['changes']} changes; added "
                      f"{totals['added']:,}, updated {totals['updated']:,}, removed {totals['removed']:,}, "
                      f"skipped {totals['skipped']:,}", highlight=False)
    if failed:
        raise typer.Exit(1)


def exchange_report(
    name: Annotated[str, typer.Argument()],
    signal_type: Annotated[str, typer.Option("--type", help="pdq, md5, sha256, url, url_md5, raw_text.")],
    signal: Annotated[str, typer.Option("--signal")],
    opinion: Annotated[str, typer.Option("--opinion", help="positive or negative (a false positive).")],
    tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
    db: DbOpt = None,
) -> None:
    """Write an opinion on a signal back to the collaboration, where its API allows."""
    from bastion.media.banks.model import Opinion
    from bastion.media.exchange import make_api, report_opinion

    ex = _stores(db).get(name)
    report_opinion(make_api(ex["api"], name, ex["config"]), signal_type, signal, Opinion(opinion), tuple(tags or ()))
    console.print(f"{name}: reported {opinion} on {signal_type} {signal[:16]}")


def start_scheduler(db: str | None, every_s: float, *, log: Any = None) -> Any:
    """Fetch every enabled collaboration every ``every_s`` seconds in a background thread (``bastion serve
    --exchange-every``); returns the ``threading.Event`` that stops it. A failing collaboration is recorded in
    its status and retried next round; it never stops the server or the other collaborations."""
    import logging
    import threading

    stop = threading.Event()
    logger = log or logging.getLogger("bastion.exchange")

    def loop() -> None:
        store = _stores(db)
        while not stop.is_set():
            for row in store.list():
                if stop.is_set() or not row["enabled"]:
                    continue
                try:
                    totals = fetch_exchange(store, row["name"])
                    logger.info("exchange %s: %s", row["name"], totals)
                except Exception as exc:  # recorded in the collaboration's status by fetch_exchange
                    logger.warning("exchange %s: %s", row["name"], exc)
            stop.wait(every_s)

    threading.Thread(target=loop, name="exchange-fetch", daemon=True).start()
    return stop


def _toggle(enabled: bool) -> Any:
    def run(name: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
        _stores(db).set_enabled(name, enabled)
        console.print(f"exchange {name}: {'enabled' if enabled else 'disabled'}")

    run.__doc__ = "Resume scheduled fetches." if enabled else "Pause scheduled fetches."
    return run


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    ex = typer.Typer(help="Hash-exchange collaborations (python-threatexchange).", no_args_is_help=True)
    ex.command("add")(exchange_add)
    ex.command("list")(exchange_list)
    ex.command("status")(exchange_status)
    ex.command("fetch")(exchange_fetch)
    ex.command("report")(exchange_report)
    ex.command("enable")(_toggle(True))
    ex.command("disable")(_toggle(False))
    app.add_typer(ex, name="exchange")
