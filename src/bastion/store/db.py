"""Database engines and migrations.

SQLite (WAL, at ``./bastion.db``) by default; PostgreSQL (or any SQLAlchemy URL) when ``BASTION_DB_URL`` or
``--db`` says so. Every command that opens a database brings it to the newest schema first.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, create_engine, event, literal, make_url, select, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

from bastion.errors import ConfigError, DependencyError
from bastion.store import attest
from bastion.store.attest import outside

DEFAULT_URL = "sqlite:///bastion.db"


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get("BASTION_DB_URL") or DEFAULT_URL
    if "://" not in url:  # a bare path means a SQLite file
        url = f"sqlite:///{url}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _json_dumps(obj: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


#: WAL pages between automatic checkpoints: SQLite's default for serving (a checkpoint stalls the commit that
#: runs it, so small ones keep verdict latency flat), more for bulk scans, where pages rewritten by many
#: batches (random-id index inserts) are then copied back to the database once, not once per batch.
CHECKPOINT_PAGES = 1000
BULK_CHECKPOINT_PAGES = 16384  # 64 MiB: a 100k-post scan about 15% faster


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, checkpoint_pages: int = CHECKPOINT_PAGES) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB: random-key index inserts stay in memory
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}")
    cur.close()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url.split("@")[-1])


def make_engine(url: str | None = None, *, bulk: bool = False) -> Engine:
    """An engine for ``url``; ``bulk`` (scans) checkpoints SQLite's WAL less often."""
    url = resolve_url(url)
    kwargs: dict[str, Any] = {"future": True, "json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        kind = url.split(":", 1)[0]
        raise ConfigError(f"cannot use database URL {_safe(url)}: no {kind!r} database support; Bastion stores "
                          "to SQLite (a path or sqlite:///PATH) or PostgreSQL (postgresql://...)") from exc
    if url.startswith("sqlite"):
        pages = BULK_CHECKPOINT_PAGES if bulk else CHECKPOINT_PAGES
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, checkpoint_pages=pages))
    return engine


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("bastion.store") / "migrations"))
    return cfg


_REVISION_RE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@functools.cache
def schema_heads() -> frozenset[str]:
    """The newest revision of every migration branch, read from the migration files' own assignments.

    Alembic's script directory imports every migration to learn the same; reading two assignments per file
    costs a millisecond, so a database already at the heads opens without importing Alembic at all.
    (``tests/core/test_store_pipeline.py`` holds this to Alembic's own answer.)
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for entry in (resources.files("bastion.store") / "migrations" / "versions").iterdir():
        if not entry.name.endswith(".py"):
            continue
        found: dict[str, str] = {m[1]: m[2] for m in _REVISION_RE.finditer(entry.read_text("utf-8"))}
        revisions.add(ast.literal_eval(found["revision"]))
        down = ast.literal_eval(found.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - parents)


def _at_heads(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            have = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:
        return False
    return have == schema_heads()


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (all branches); a database already there is left alone."""
    if _at_heads(engine):
        return
    from alembic import command

    try:
        with engine.begin() as conn:
            outside(conn)  # the schema is changing: nothing here is attested
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except OperationalError as exc:
        raise DependencyError(f"cannot open database {engine.url.render_as_string(hide_password=True)}: "
                              f"{' '.join(str(exc.orig).split())}") from exc
    except SQLAlchemyError as exc:
        raise DependencyError(f"database migration failed: {exc}") from exc
    attest_existing(engine)


def attest_existing(engine: Engine) -> None:
    """Rows stored before their tables were attested (a database from an earlier version) are attested as
    they stand once it is upgraded: the tables are rescanned when this transaction commits (the audit layer
    seals it), so that from here on any change to them shows."""
    with engine.begin() as conn:
        have = {r[0] for r in conn.execute(text("SELECT name FROM audit_state"))}
        missing = [name for name, cov in attest.COVERED.items() if name not in have
                   and conn.execute(select(literal(1)).select_from(cov.table).limit(1)).first() is not None]
        if missing:
            attest.changes(conn).untracked.update(missing)


def open_engine(url: str | None = None, *, bulk: bool = False) -> Engine:
    engine = make_engine(url, bulk=bulk)
    migrate(engine)
    return engine


if __name__ == "__main__":  # pragma: no cover - developer tool: draft a migration by autogenerate
    from alembic import command

    cfg = alembic_config()
    scratch = make_engine("sqlite:////tmp/bastion-autogen.db")
    with scratch.begin() as conn:
        cfg.attributes["connection"] = conn
        args = sys.argv[1:]
        if args and args[0] == "revision":
            msg = args[args.index("-m") + 1] if "-m" in args else "change"
            head = args[args.index("--head") + 1] if "--head" in args else "head"
            rev_id = args[args.index("--rev-id") + 1] if "--rev-id" in args else None
            branch = args[args.index("--branch-label") + 1] if "--branch-label" in args else None
            command.upgrade(cfg, "heads")
            command.revision(cfg, message=msg, autogenerate=True, head=head, rev_id=rev_id,
                             branch_label=branch)
