"""Alembic environment: runs against the connection Bastion hands it (see bastion.store.db.migrate)."""

from __future__ import annotations

from alembic import context

import bastion.store.tables  # noqa: F401 - registers every capability's tables on the metadata
from bastion.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic's own CLI is used
    from sqlalchemy import create_engine

    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///bastion.db"
    connection = create_engine(url).connect()

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
