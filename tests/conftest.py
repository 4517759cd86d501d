"""Shared fixtures: databases (SQLite always; PostgreSQL when BASTION_TEST_PG_URL points at one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

# every write to a large attested table must say which rows it changes (bastion.store.attest)
os.environ.setdefault("BASTION_AUDIT_STRICT", "1")

from bastion.store.db import open_engine

PG_URL = os.environ.get("BASTION_TEST_PG_URL")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _pg_database() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set BASTION_TEST_PG_URL (.ci/run does) to run these tests")
    admin_url = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"bastion_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.skip(f"PostgreSQL at {PG_URL} unavailable: {exc}")
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bastion.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bastion.db'}"


@pytest.fixture
def shared_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    return DATA
