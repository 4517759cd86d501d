"""Fixtures: a seeded server (app + test client + keys) on each database backend."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import seed


@pytest.fixture
def world(db_url: str) -> Iterator[seed.World]:
    """A fresh seeded world per test (SQLite; PostgreSQL too when BASTION_TEST_PG_URL is set)."""
    w = seed.build(db_url, anon_rate=(1000.0, 1000.0))
    yield w
    w.client.close()
    w.app.state.bastion.engine.dispose()


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seed.World]:
    """One seeded SQLite world for tests that only read, or only touch their own records."""
    path = tmp_path_factory.mktemp("api") / "bastion.db"
    w = seed.build(f"sqlite:///{path}", anon_rate=(1000.0, 1000.0))
    yield w
    w.client.close()
    w.app.state.bastion.engine.dispose()
