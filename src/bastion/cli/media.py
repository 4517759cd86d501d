"""Media commands: ``bastion hash FILE...`` and ``bastion bank import|export|list|create|add|disable|enable``.

``bastion hash`` prints one JSON object per file (``path``, ``kind``, ``pdq`` + ``quality`` or ``vpdq``
frames, ``md5``, ``sha256``; ``path`` + ``error`` when a file cannot be decoded) and exits non-zero only
when every file failed. Bank commands work on the database (``--db``, default ``$BASTION_DB_URL`` or
``./bastion.db``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console(stderr=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL or SQLite path (default: "
                                           "$BASTION_DB_URL or ./bastion.db).")]
FmtOpt = Annotated[str, typer.Option("--format", "-f", help="bastion (ours), te (ThreatExchange), hma "
                                     "(HMA / python-threatexchange signal file), tat (Tech Against Terrorism), "
                                     "list (bare hashes, one per line; needs --type), csv (pytx dataset --csv), "
                                     "vpdq (vPDQ hash files: a file or a directory).")]


@contextmanager
def open_db(db: str | None) -> Iterator[Any]:
    """The store's engine for one command, disposed when it ends."""
    from bastion.store.db import open_engine

    engine = open_engine(db)
    try:
        yield engine
    finally:
        engine.dispose()


def _limits(max_bytes: int | None, max_pixels: int | None, max_duration: float | None,
            max_frames: int | None) -> Any:
    from bastion.media.decode import DecodeLimits

    return DecodeLimits.with_overrides(max_bytes=max_bytes, max_pixels=max_pixels,
                                       max_duration_s=max_duration, max_frames=max_frames)


def hash_cmd(
    files: Annotated[list[Path], typer.Argument(help="Images or videos.", show_default=False)],
    every: Annotated[float, typer.Option("--every", help="Seconds between hashed video frames "
                                         "(0: every frame, as Meta's vPDQ regression outputs).")] = 0.0,
    max_bytes: Annotated[int | None, typer.Option(help="Largest image file, bytes.")] = None,
    max_pixels: Annotated[int | None, typer.Option(help="Largest image or frame, pixels.")] = None,
    max_duration: Annotated[float | None, typer.Option(help="Longest video, seconds.")] = None,
    max_frames: Annotated[int | None, typer.Option(help="Most hashed frames per video.")] = None,
) -> None:
    """Hash media files: PDQ (images) or vPDQ (videos), MD5 and SHA-256, one JSON object per line."""
    from bastion.media.decode import MediaError
    from bastion.media.hashing import hash_file

    limits = _limits(max_bytes, max_pixels, max_duration, max_frames)
    failed = 0
    for f in files:
        try:
            rec: dict[str, Any] = {"path": str(f), **hash_file(f, limits, seconds_per_hash=every).to_json()}
        except MediaError as exc:
            rec = {"path": str(f), "error": str(exc)}
            failed += 1
        sys.stdout.write(json.dumps(rec) + "\n")
        sys.stdout.flush()
    if files and failed == len(files):
        raise typer.Exit(1)


def _store(db: str | None) -> Any:
    from bastion.store.db import open_engine
    from bastion.store.media import MediaBankStore

    return MediaBankStore(open_engine(db))


def bank_list(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False
              ) -> None:
    """List banks with their settings and entry counts."""
    from rich.table import Table

    rows = _store(db).list_banks()
    if as_json:
        sys.stdout.write(json.dumps([{**c.to_json(), "counts": n} for c, n in rows], indent=1) + "\n")
        return
    table = Table("bank", "kind", "threshold", "min quality", "enabled", "entries")
    for c, n in rows:
        table.add_row(c.name, "negative" if c.negative else "positive", str(c.pdq_threshold),
                      str(c.min_quality), f"{c.enabled_ratio:g}",
                      ", ".join(f"{k} {v}" for k, v in sorted(n.items())) or "-")
    Console().print(table)


def bank_create(
    name: Annotated[str, typer.Argument(help="Bank name.")],
    negative: Annotated[bool, typer.Option("--negative", help="An allow-list bank.")] = False,
    threshold: Annotated[int, typer.Option(help="PDQ match distance (<=).")] = 31,
    min_quality: Annotated[int, typer.Option(help="Lowest PDQ quality to match.")] = 50,
    enabled_ratio: Annotated[float, typer.Option(help="Share of items the bank is used for.")] = 1.0,
    vpdq_ratio: Annotated[float, typer.Option(help="Share of a video's frames that must match.")] = 0.8,
    flood_limit: Annotated[int, typer.Option(help="Distinct items per window before an entry is paused "
                                             "(0: never).")] = 50,
    flood_window: Annotated[float, typer.Option(help="Flood window, seconds.")] = 3600.0,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    db: DbOpt = None,
) -> None:
    """Create a bank."""
    from bastion.media.banks.model import BankConfig

    cfg = _config(BankConfig, name=name, negative=negative, pdq_threshold=threshold, min_quality=min_quality,
                  enabled_ratio=enabled_ratio, vpdq_query_ratio=vpdq_ratio, flood_limit=flood_limit,
                  flood_window_s=flood_window, description=description)
    _store(db).create_bank(cfg)
    console.print(f"created bank [bold]{name}[/]")


def _config(cls: Any, *args: Any, **kw: Any) -> Any:
    from bastion.errors import ConfigError

    try:
        return cls(*args, **kw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def bank_add(
    bank: Annotated[str, typer.Argument(help="Bank name.")],
    items: Annotated[list[str], typer.Argument(help="Files to hash, or hashes (with --type).", show_default=False)],
    signal_type: Annotated[str, typer.Option("--type", help="auto (files: hash them), pdq, md5, sha256, "
                                             "vpdq.")] = "auto",
    signals: Annotated[str, typer.Option(help="Hashes to bank per file.")] = "pdq,vpdq,md5",
    entity: Annotated[str | None, typer.Option(help="Terrorist entity.")] = None,
    behaviour: Annotated[str | None, typer.Option(help="Behaviour class (GIFCT taxonomy).")] = None,
    source: Annotated[str | None, typer.Option(help="Where the hash comes from.")] = None,
    confidence: Annotated[float, typer.Option(help="Confidence in [0, 1].")] = 1.0,
    opinion: Annotated[str, typer.Option(help="positive, negative or disputed.")] = "positive",
    tag: Annotated[list[str] | None, typer.Option(help="Extra tag (repeatable).")] = None,
    create: Annotated[bool, typer.Option("--create", help="Create the bank if missing.")] = False,
    db: DbOpt = None,
) -> None:
    """Add hashes (or the hashes of files) to a bank."""
    from bastion.errors import InputError
    from bastion.media.banks.model import BankConfig, EntryLabels, Opinion
    from bastion.media.decode import MediaError
    from bastion.media.formats.base import entry
    from bastion.media.hashing import hash_file

    labels = _config(EntryLabels, entity=entity, behaviour=behaviour, source=source, confidence=confidence,
                     opinion=_config(Opinion, opinion), tags=tuple(tag or ()))
    store = _store(db)
    if create:
        store.create_bank(BankConfig(bank), exist_ok=True)
    wanted = {s.strip() for s in signals.split(",") if s.strip()}
    entries = []
    for item in items:
        try:
            if signal_type != "auto":
                entries.append(entry(bank, signal_type, item, labels=labels))
                continue
            if not Path(item).exists():
                raise InputError(f"{item}: no such file (use --type to add a hash)")
            h = hash_file(item)
            for st, sig in h.signals().items():
                if st in wanted:
                    entries.append(entry(bank, st, sig, labels=labels))
        except MediaError as exc:
            raise InputError(f"{item}: {exc}") from None
        except ValueError as exc:
            raise InputError(f"{item}: {exc}") from None
    added, dups = store.add_entries(entries)
    console.print(f"{bank}: added {added} entries ({dups} already present)")


def bank_import(
    path: Annotated[Path, typer.Argument(help="Bank file (a directory of vPDQ hash files for --format vpdq).")],
    fmt: FmtOpt = "bastion",
    bank: Annotated[str | None, typer.Option(help="Target bank (bastion files default to their header's).")
                    ] = None,
    signal_type: Annotated[str | None, typer.Option("--type", help="Signal type of a bare hash list (pdq, md5, "
                                                    "sha256, url, url_md5, raw_text).")] = None,
    create: Annotated[bool, typer.Option("--create", help="Create the bank if missing.")] = False,
    db: DbOpt = None,
) -> None:
    """Import a bank file (ThreatExchange, HMA / pytx, a bare hash list, pytx CSV, vPDQ hash files, Tech
    Against Terrorism or our own format). A file that holds records but imports none exits non-zero and
    creates no bank."""
    from rich.progress import Progress

    from bastion.errors import InputError
    from bastion.media.banks.model import BankConfig
    from bastion.media.formats import NEEDS_TYPE, read_bank

    if not bank and fmt != "bastion":
        raise InputError("--bank is required for this format")
    if fmt in NEEDS_TYPE and not signal_type:
        raise InputError(f"--format {fmt} needs --type (the signal type of every line)")
    with console.status(f"reading {path}"):
        imported = read_bank(path, fmt, bank or "", signal_type)
    name = bank or (imported.config.name if imported.config else "")
    for where, why in imported.skipped[:20]:
        console.print(f"[yellow]skipped[/] {where}: {why}", highlight=False)
    if not imported.entries and not imported.deleted and imported.skipped:
        raise InputError(f"{path}: nothing imported ({len(imported.skipped)} records skipped, first: "
                         f"{imported.skipped[0][0]}: {imported.skipped[0][1]}); no bank was changed")
    store = _store(db)
    if create:
        store.create_bank(imported.config or BankConfig(name), exist_ok=True)
    added = dups = 0
    step = 5000
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing into {name}", total=len(imported.entries))
        for i in range(0, len(imported.entries), step):
            a, d = store.add_entries(imported.entries[i:i + step])
            added, dups = added + a, dups + d
            progress.advance(task, min(step, len(imported.entries) - i))
    removed = store.remove_signals(name, imported.deleted) if imported.deleted else 0
    console.print(f"{name}: added {added}, already present {dups}, removed {removed}, "
                  f"skipped {len(imported.skipped)}")


def bank_export(
    bank: Annotated[str, typer.Argument(help="Bank name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file.")],
    fmt: FmtOpt = "bastion",
    include_inactive: Annotated[bool, typer.Option(help="Also export disabled and quarantined entries.")
                                ] = False,
    db: DbOpt = None,
) -> None:
    """Export a bank to a file."""
    from bastion.media.formats import write_bank

    store = _store(db)
    cfg = store.get_bank(bank)
    entries = [e for e in store.iter_entries(bank) if include_inactive or e.active]
    res = write_bank(out, fmt, cfg, entries)
    console.print(f"{bank}: wrote {res.written} entries to {out}" + (f" ({res.skipped} not expressible "
                                                                     f"in {fmt})" if res.skipped else ""))


def _set(bank: str, entry_ids: list[int] | None, enabled: bool, reason: str, db: str | None) -> None:
    from dataclasses import replace

    from bastion.errors import NotFound
    from bastion.media.banks.model import EntryStatus

    store = _store(db)
    cfg = store.get_bank(bank)
    if not entry_ids:
        store.update_bank(replace(cfg, enabled_ratio=1.0 if enabled else 0.0))
        console.print(f"bank {bank} {'enabled' if enabled else 'disabled'}")
        return
    for i in entry_ids:
        if store.get_entry(i).bank != bank:
            raise NotFound(f"entry {i} is not in bank {bank!r}")
    n = store.set_status(entry_ids, EntryStatus.ACTIVE if enabled else EntryStatus.DISABLED, reason)
    console.print(f"{bank}: {'enabled' if enabled else 'disabled'} {n} entries")


def bank_disable(
    bank: Annotated[str, typer.Argument(help="Bank name.")],
    entries: Annotated[list[int] | None, typer.Argument(help="Entry ids (none: the whole bank).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the entry).")] = "",
    db: DbOpt = None,
) -> None:
    """Disable a whole bank, or single entries of it."""
    _set(bank, entries, False, reason, db)


def bank_enable(
    bank: Annotated[str, typer.Argument(help="Bank name.")],
    entries: Annotated[list[int] | None, typer.Argument(help="Entry ids (none: the whole bank).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the entry).")] = "",
    db: DbOpt = None,
) -> None:
    """Re-enable a bank, or entries (also releases flood-quarantined entries after review)."""
    _set(bank, entries, True, reason, db)


def register(app: typer.Typer, *, eval_app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("hash")(hash_cmd)
    bank = typer.Typer(help="Hash banks of known terrorist media.", no_args_is_help=True)
    bank.command("list")(bank_list)
    bank.command("create")(bank_create)
    bank.command("add")(bank_add)
    bank.command("import")(bank_import)
    bank.command("export")(bank_export)
    bank.command("disable")(bank_disable)
    bank.command("enable")(bank_enable)
    app.add_typer(bank, name="bank")
