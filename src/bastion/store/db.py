"""Database engines and migrations.

SQLite (WAL, at ``./bastion.db``) by default; PostgreSQL (or any SQLAlchemy URL) when ``BASTION_DB_URL`` or
``--db`` says so. Every command that opens a database brings it to the newest schema first.
"""

from __future__ import annotations

import functools
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bastion.errors import DependencyError

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
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        pages = BULK_CHECKPOINT_PAGES if bulk else CHECKPOINT_PAGES
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, checkpoint_pages=pages))
    return engine


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("bastion.store") / "migrations"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (all branches)."""
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except OperationalError as exc:
        raise DependencyError(f"cannot open database {engine.url.render_as_string(hide_password=True)}: "
                              f"{exc.orig}") from exc
    except SQLAlchemyError as exc:
        raise DependencyError(f"database migration failed: {exc}") from exc


def open_engine(url: str | None = None, *, bulk: bool = False) -> Engine:
    engine = make_engine(url, bulk=bulk)
    migrate(engine)
    return engine


if __name__ == "__main__":  # pragma: no cover - developer tool: draft a migration by autogenerate
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
