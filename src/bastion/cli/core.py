"""Core commands: ``scan``, ``policy check``, ``audit verify|export``, ``export decisions``, ``webhooks``."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bastion.errors import IntegrityError, PolicyError

console = Console(stderr=True)
out = Console()

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL or SQLite path (default: "
                                           "$BASTION_DB_URL or ./bastion.db).")]
LiveOpt = Annotated[list[str] | None, typer.Option(
    "--live", help="Make this shadow rule live (repeatable; default $BASTION_LIVE_RULES).")]


def scan(
    inputs: Annotated[list[Path], typer.Argument(help="Input files (JSONL, JSON, CSV).", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", help="auto, native, twitter_v1, twitter_v2, mastodon, activitypub, "
                                     "fifthtribe_csv, corpus.")] = "auto",
    db: DbOpt = None,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (default: the shipped policy).")] = None,
    live: LiveOpt = None,
    detectors: Annotated[str | None, typer.Option(help="'all', 'none' or a comma-separated list.")] = None,
    assets: Annotated[Path | None, typer.Option(help="Protected-assets registry (YAML) for threats.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Write one JSON decision per input post.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Records per transaction.")] = None,
    quarantine_out: Annotated[Path | None, typer.Option("--quarantine", help="Also write quarantined "
                                                        "records to this JSONL file.")] = None,
    workers: Annotated[int | None, typer.Option(help="Detection processes (default: every usable core; 1: "
                                                "one process). Decisions are the same for any number.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    fetch_media: Annotated[bool, typer.Option("--fetch-media", help="Fetch media known only by URL and hash "
                                              "it (public addresses only; size and time limits).")] = False,
    media_hosts: Annotated[list[str] | None, typer.Option("--media-host", help="With --fetch-media: fetch only "
                                                          "from this host (repeat; '.example.com' for its "
                                                          "subdomains).")] = None,
) -> None:
    """Scan posts, accounts and reports into explained, audited decisions."""
    from bastion.errors import InputError
    from bastion.pipeline.build import build_pipeline, iter_inputs, tune_gc
    from bastion.settings import Settings

    for p in inputs:
        if not p.is_file():
            raise InputError(f"no such input file: {p}")
    settings = Settings.load(db_url=db, policy=str(policy) if policy else None, detectors=detectors,
                             assets=str(assets) if assets else None, batch_size=batch_size,
                             live_rules=live or None, workers=workers)
    if fetch_media or media_hosts:
        from dataclasses import replace

        options = {k: dict(v) for k, v in settings.detector_options.items()}
        options.setdefault("media", {}).update(fetch_media=True, fetch_hosts=list(media_hosts or ()))
        settings = replace(settings, detector_options=options)
    out_fh: IO[bytes] | None = out_path.open("wb") if out_path else None
    q_fh: IO[bytes] | None = quarantine_out.open("wb") if quarantine_out else None

    def write_decision(d: Any) -> None:
        if out_fh is not None and d.subject_kind.value == "post":
            out_fh.write(orjson.dumps(d.to_json()) + b"\n")

    pipeline, names = build_pipeline(settings, on_decision=write_decision, bulk=True)
    tune_gc()
    items = iter_inputs(inputs, fmt)
    if q_fh is not None:
        items = _tee_quarantine(items, q_fh)
    total = sum(p.stat().st_size for p in inputs)
    try:
        with Progress(SpinnerColumn(), TextColumn("[bold]scan"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("records"), TimeElapsedColumn(), console=console,
                      disable=quiet or not console.is_terminal) as progress:
            task = progress.add_task("scan", total=None)
            stats = pipeline.run(items, inputs=[str(p) for p in inputs],
                                 progress=lambda n: progress.advance(task, n))
    finally:
        if out_fh is not None:
            out_fh.close()
        if q_fh is not None:
            q_fh.close()
    _summary(stats, names, pipeline.policy.policy, total)


def _tee_quarantine(items: Any, fh: IO[bytes]) -> Any:
    from bastion.ingest import Quarantined

    for item in items:
        if isinstance(item, Quarantined):
            fh.write(orjson.dumps(item.to_json()) + b"\n")
        yield item


def _summary(stats: Any, detectors: list[str], policy: Any, total_bytes: int) -> None:
    table = Table(title=f"bastion scan · {stats.run_id}", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [("records read", stats.records + stats.quarantined), ("  taken", stats.records),
            ("  quarantined", stats.quarantined), ("posts", stats.posts),
            ("  of which already stored", stats.posts_duplicate),
            ("  of which new versions of stored posts", stats.posts_revised),
            ("accounts", stats.accounts), ("edges", stats.edges), ("reports", stats.reports),
            ("enforcement events", stats.enforcement), ("decisions", stats.decisions)]
    for name, n in rows:
        table.add_row(name, f"{n:,}")
    for action, n in sorted(stats.actions.items()):
        table.add_row(f"action: {action}", f"{n:,}")
    for action, n in sorted(stats.shadow_actions.items()):
        table.add_row(f"shadow: {action}", f"{n:,}")
    for rule, n in sorted(stats.by_policy_rule.items()):
        table.add_row(f"decisions by rule: {rule}", f"{n:,}")
    for sig, n in sorted(stats.unavailable_signals.items()):
        table.add_row(f"unavailable signal: {sig}", f"{n:,}")
    table.add_row("throughput", f"{stats.posts_per_s:,.0f} posts/s")
    table.caption = (f"policy {policy.name}@{policy.version} · detectors: {', '.join(detectors) or 'none'} · "
                     f"{stats.seconds:.2f}s · {total_bytes / 1e6:.1f} MB read")
    out.print(table)


def policy_check(path: Annotated[Path, typer.Argument(help="Policy YAML to validate.")]) -> None:
    """Validate a policy file; print every problem as file:line: message."""
    from bastion.policy.loader import load_policy

    try:
        pol = load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems:
            typer.echo(problem)
        raise typer.Exit(2) from None
    from bastion.campaigns.campaign import BARRAGE, HIJACK
    from bastion.catalogue import signal_owners
    from bastion.media.banks.model import Opinion
    from bastion.policy.lint import Labels, problems, warnings
    from bastion.text.lexicon import Lexicon
    from bastion.text.propaganda import REPORTING_CUES
    from bastion.threats.severity import LEVELS
    from bastion.threats.stance import FORMS, STANCES

    owners = signal_owners()
    # what each detector labels its signals with; "name:" is a namespace whose values come from data (an asset
    # file, a bank and its entries' labels). Media bank entries' free tags, too, can only be warned about.
    emitted: dict[str, list[str]] = {
        "lexicon": sorted({e.category for e in Lexicon.load().entries}),
        "propaganda": list(REPORTING_CUES),
        "threat": [*(f"threat:{f}" for f in FORMS), *(f"stance:{s}" for s in STANCES),
                   *(f"severity:{level}" for level in LEVELS), "asset:"],
        "media": ["flood_quarantine", "bank:", "entity:", "behaviour:", "source:",
                  *(f"opinion:{o.value}" for o in Opinion if o is not Opinion.POSITIVE)],
        "ban_evasion": ["ban_evasion:strong", "ban_evasion:medium"],
        "campaign": [BARRAGE, HIJACK],
    }
    detectors = set(owners.values())
    labels = Labels.of(label for name, names in emitted.items() if name in detectors for label in names)
    found = problems(pol, owners, labels)
    for problem in found:
        typer.echo(problem)
    for warning in warnings(pol, owners, labels):
        typer.echo(warning)
    if found:
        raise typer.Exit(2)
    counts: dict[str, int] = {}
    for r in pol.rules:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    typer.echo(f"{path}: OK - policy {pol.name}@{pol.version}, {len(pol.rules)} rules "
               f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))})")


def audit_verify(
    db: DbOpt = None,
    file: Annotated[Path | None, typer.Option("--file", help="Verify an exported log instead.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="A signed checkpoint (`audit checkpoint`): detect any change, truncation or rewrite "
                             "since it was taken.")] = None,
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="The audit key's public half (.pub) to trust; default: the key in the checkpoint.")
    ] = None,
    spark: Annotated[Path | None, typer.Option(
        "--spark", help="Verify a `bastion spark scan` output directory (partition chains, Merkle root) instead.")
    ] = None,
) -> None:
    """Recompute the audit chain, every decision's hash and every attested table; non-zero exit on tampering."""
    from bastion.audit import checkpoint as cp
    from bastion.audit import log as audit
    from bastion.audit import signing

    if spark is not None:
        from bastion.spark import manifest

        problems = manifest.verify(spark)
        if not problems:
            doc = json.loads((spark / "manifest.json").read_text(encoding="utf-8"))
            n = sum(p["count"] for p in doc["partitions"])
            out.print(f"spark output OK: {n} decisions in {len(doc['partitions'])} partition(s), chains intact, "
                      f"Merkle root {doc['merkle_root']}")
            return
        for p in problems[:200]:
            typer.echo(f"TAMPERED: {p}")
        raise IntegrityError(f"spark output verification failed: {len(problems)} problem(s)")

    trusted = signing.load_public(public_key) if public_key else None
    doc = cp.read(checkpoint) if checkpoint else None
    if file is not None:
        result = cp.verify_export(file, doc, trusted=trusted) if doc else audit.verify_file(file)
    else:
        from bastion.store.db import open_engine

        engine = open_engine(db)
        result = cp.verify_db(engine, doc, trusted=trusted) if doc else audit.verify(engine)
        if doc is None and trusted is not None and result.head is not None:
            why = signing.verify_head(trusted, result.head[0], result.head[1], result.head_sig)
            if why:
                result.problems.append(why)
    if result.ok:
        since = f", matches checkpoint at entry {doc['head']['seq']}" if doc and doc.get("head") else ""
        out.print(f"audit log OK: {result.entries} entries, chain intact, tables as attested{since}")
        return
    for p in result.problems[:200]:
        typer.echo(f"TAMPERED: {p}")
    raise IntegrityError(f"audit verification failed: {len(result.problems)} problem(s)")


def audit_export(path: Annotated[Path, typer.Argument(help="Output JSONL file.")], db: DbOpt = None) -> None:
    """Export the audit log as JSON Lines (verifiable offline with `audit verify --file`)."""
    from bastion.audit import log as audit
    from bastion.store.db import open_engine

    n = audit.export(open_engine(db), path)
    out.print(f"wrote {n} audit entries to {path}")


KeyOpt = Annotated[Path | None, typer.Option(
    "--key", help="The audit key (PEM, outside the database); default $BASTION_AUDIT_KEY.")]


def audit_keygen(path: Annotated[Path, typer.Argument(help="Where to write the private key (0600); the public "
                                                          "key goes to PATH.pub.")]) -> None:
    """Create an Ed25519 audit key: it signs checkpoints, and the chain's head when $BASTION_AUDIT_KEY names it."""
    from bastion.audit import signing

    public = signing.generate(path)
    out.print(f"wrote {path} (keep it off the database host's backups) and {path}.pub; "
              f"key id {signing.key_id(public)}")


def audit_checkpoint(out_path: Annotated[Path, typer.Option("--out", help="Checkpoint file to write.")],
                     db: DbOpt = None, key: KeyOpt = None) -> None:
    """Sign a checkpoint of the chain and of every attested table; keep or publish it outside the database."""
    from datetime import UTC, datetime

    from bastion.audit import checkpoint as cp
    from bastion.audit import signing
    from bastion.errors import ConfigError
    from bastion.store.db import open_engine

    private = signing.load_private(key) if key else signing.configured_key()
    if private is None:
        raise ConfigError("no audit key: pass --key FILE or set BASTION_AUDIT_KEY (create one with "
                          "`bastion audit keygen FILE`)")
    doc = cp.take(open_engine(db), private, datetime.now(UTC))
    cp.write(doc, out_path)
    head = doc["head"] or {"seq": 0}
    out.print(f"wrote checkpoint {out_path}: entry {head['seq']}, {len(doc['tables'])} tables, "
              f"key {doc['key_id']}")


def export_decisions(
    path: Annotated[Path, typer.Argument(help="Output JSONL file ('-' for stdout).")],
    db: DbOpt = None,
    enforced_only: Annotated[bool, typer.Option("--enforced", help="Only decisions with actions.")] = False,
) -> None:
    """Export stored decisions as JSON Lines."""
    from bastion.store.db import open_engine
    from bastion.store.queries import iter_decisions

    engine = open_engine(db)
    fh: IO[bytes] = os.fdopen(os.dup(1), "wb") if str(path) == "-" else path.open("wb")
    n = 0
    with fh:
        for row in iter_decisions(engine, with_actions_only=enforced_only):
            fh.write(orjson.dumps(row, default=str) + b"\n")
            n += 1
    console.print(f"exported {n} decisions")


def webhooks_deliver(db: DbOpt = None,
                     url: Annotated[str | None, typer.Option(help="Receiver URL (or $BASTION_WEBHOOK_URL).")] = None
                     ) -> None:
    """Deliver pending webhook notifications (signed, retried with backoff, idempotent by decision)."""
    from bastion.actions.webhook import WebhookDeliverer
    from bastion.errors import ConfigError
    from bastion.settings import Settings
    from bastion.store.db import open_engine

    settings = Settings.load(db_url=db, webhook_url=url)
    if not settings.webhook_url or not settings.webhook_secret:
        raise ConfigError("set BASTION_WEBHOOK_URL and BASTION_WEBHOOK_SECRET")
    stats = WebhookDeliverer(open_engine(settings.db_url), settings.webhook_url,
                             settings.webhook_secret).deliver_pending()
    out.print(f"delivered {stats.delivered}, retried {stats.retried}, failed {stats.failed}, "
              f"still pending {stats.pending}")


def quarantine_list(db: DbOpt = None, limit: Annotated[int, typer.Option(help="Rows to show.")] = 50) -> None:
    """Show quarantined records with file, line, field and reason."""
    from sqlalchemy import select

    from bastion.store.db import open_engine
    from bastion.store.schema import quarantine

    engine = open_engine(db)
    table = Table("file", "line", "record", "field", "reason")
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine).order_by(quarantine.c.seq.desc()).limit(limit))
        for r in itertools.islice(rows, limit):
            table.add_row(r.file, str(r.line), r.record_id or "", r.field or "", r.reason)
    out.print(table)


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("scan")(scan)
    policy_app = typer.Typer(help="Policies.", no_args_is_help=True)
    policy_app.command("check")(policy_check)
    app.add_typer(policy_app, name="policy")
    audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
    audit_app.command("verify")(audit_verify)
    audit_app.command("export")(audit_export)
    audit_app.command("keygen")(audit_keygen)
    audit_app.command("checkpoint")(audit_checkpoint)
    app.add_typer(audit_app, name="audit")
    export_app = typer.Typer(help="Export stored data.", no_args_is_help=True)
    export_app.command("decisions")(export_decisions)
    app.add_typer(export_app, name="export")
    hooks = typer.Typer(help="The webhook action sink.", no_args_is_help=True)
    hooks.command("deliver")(webhooks_deliver)
    app.add_typer(hooks, name="webhooks")
    q = typer.Typer(help="Quarantined input records.", no_args_is_help=True)
    q.command("list")(quarantine_list)
    app.add_typer(q, name="quarantine")
