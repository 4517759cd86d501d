"""The SQLite driver directly, inside a SQLAlchemy connection's transaction (the hot paths' raw SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from bastion.store.attest import note_statement


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def utc_text(value: datetime | None) -> str | None:
    """A timezone-aware datetime as SQLAlchemy stores it in SQLite: naive UTC, microseconds, space."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def executemany(conn: Connection, sql: str, values: Sequence[Sequence[Any]]) -> None:
    """Run one statement over many parameter tuples on the driver."""
    if not values:
        return
    note_statement(conn, sql)  # the driver directly bypasses SQLAlchemy's events
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, values)
    finally:
        cursor.close()


def fetchall(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        return list(cursor.execute(sql, params).fetchall())
    finally:
        cursor.close()
