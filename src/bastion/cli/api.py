"""People-in-the-loop commands: ``keys create|list|revoke``, ``serve`` (API + review UI), ``report``
(transparency report: HTML with charts, JSON, DSA statements of reasons)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypedDict

import typer
from rich.console import Console

from bastion.cli.core import DbOpt, LiveOpt

console = Console(stderr=True)
out = Console()


def keys_create(
    role: Annotated[str, typer.Option("--role", help="integrator, reviewer, security or admin.")],
    db: DbOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Who or what holds the key (shown in the audit "
                                             "log).")] = None,
    person: Annotated[str | None, typer.Option("--person", help="The person who holds the key (e.g. an "
                                               "employee id): keys naming one person count as one "
                                               "reviewer for appeals.")] = None,
) -> None:
    """Create an API key and print it (it is stored hashed and cannot be shown again)."""
    from bastion.api.keys import create_key
    from bastion.store.db import open_engine

    engine = open_engine(db)
    try:
        key_id, key = create_key(engine, role, name=name, person=person, created_by="cli",
                                 now=datetime.now(UTC))
    finally:
        engine.dispose()
    console.print(f"created {role} key {key_id}; store it now, it is not shown again")
    out.print(key, highlight=False, markup=False, soft_wrap=True)


def keys_list(db: DbOpt = None) -> None:
    """List API keys (ids, roles, names, use; never the keys)."""
    from rich.table import Table

    from bastion.api.keys import list_keys
    from bastion.store.db import open_engine

    table = Table("id", "role", "name", "person", "created", "last used", "revoked")
    engine = open_engine(db)
    try:
        keys = list_keys(engine)
    finally:
        engine.dispose()
    for k in keys:
        table.add_row(k["id"], k["role"], k["name"], k["person"] or "", str(k["created_at"])[:19],
                      str(k["last_used_at"] or "")[:19], str(k["revoked_at"] or "")[:19])
    out.print(table)


def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (the part after bst_).")],
                db: DbOpt = None) -> None:
    """Revoke an API key (a running server stops accepting it within seconds)."""
    from bastion.api.keys import revoke_key
    from bastion.store.db import open_engine

    engine = open_engine(db)
    try:
        revoke_key(engine, key_id, actor="cli", now=datetime.now(UTC))
    finally:
        engine.dispose()
    out.print(f"revoked {key_id}")


def serve(
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    detectors: Annotated[str | None, typer.Option(help="'all', 'none' or a comma-separated list.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (default: the shipped policy).")] = None,
    live: LiveOpt = None,
    media_root: Annotated[Path | None, typer.Option("--media-root", help="Directory whose media files the "
                                                    "UI may show and posts may name by path.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", envvar="BASTION_TRUSTED_PROXIES",
        help="Address of a reverse proxy whose X-Forwarded-For is believed (repeatable). Without one, client "
             "addresses (rate limits, lock-outs, audit) are the connection's own and forwarded headers are "
             "ignored from everyone.")] = None,
    exchange_every: Annotated[float, typer.Option("--exchange-every", envvar="BASTION_EXCHANGE_EVERY",
                                                  help="Fetch every enabled hash-exchange collaboration every "
                                                       "this many minutes (0: never).")] = 0.0,
) -> None:
    """Serve the API (/v1/..., OpenAPI at /openapi.json) and the review UI (/ui/)."""
    import uvicorn

    from bastion.api.app import create_app
    from bastion.api.state import ApiConfig
    from bastion.pipeline.build import tune_gc
    from bastion.settings import Settings

    settings = Settings.load(db_url=db, detectors=detectors, policy=str(policy) if policy else None,
                             live_rules=live or None)
    config = ApiConfig.from_env(media_root=str(media_root) if media_root else None)
    app = create_app(settings, config=config)
    tune_gc()
    console.print(f"bastion: API on http://{host}:{port}/v1/ · OpenAPI /openapi.json · review UI /ui/ · "
                  f"detectors: {', '.join(app.state.bastion.detectors) or 'none'}")
    stop = None
    if exchange_every > 0:
        from bastion.cli.exchanges import start_scheduler

        stop = start_scheduler(db, exchange_every * 60)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, server_header=False,
                    **proxy_options(trusted_proxy or []))
    finally:
        if stop is not None:
            stop.set()


class ProxyOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: str


def proxy_options(trusted: list[str]) -> ProxyOptions:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so anyone on the host could
    rotate their apparent address past the failed-auth and login limits; only named proxies are believed."""
    addresses = [a.strip() for item in trusted for a in item.split(",") if a.strip()]
    return {"proxy_headers": bool(addresses), "forwarded_allow_ips": ",".join(addresses)}


def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for report.html, report.json and "
                                          "statements.jsonl.")],
    db: DbOpt = None,
    days: Annotated[int | None, typer.Option(help="Only the last N days (default: everything).")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML that names detection sources.")] = None,
) -> None:
    """Write the transparency report: HTML with charts, JSON, and DSA statements of reasons (JSONL)."""
    from bastion.store.db import open_engine
    from bastion.transparency.render import write_report

    now = datetime.now(UTC)
    since = now - timedelta(days=days) if days else None
    engine = open_engine(db)
    try:
        paths = write_report(engine, out_dir, since=since, until=now, policy_path=str(policy) if policy else None)
    finally:
        engine.dispose()
    for kind, path in paths.items():
        out.print(f"{kind}: {path}")


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    keys = typer.Typer(help="API keys (roles: integrator, reviewer, security, admin).", no_args_is_help=True)
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)
    app.add_typer(keys, name="keys")
    app.command("serve")(serve)
    app.command("report")(report)
