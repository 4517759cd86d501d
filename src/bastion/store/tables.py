"""Import every module that defines tables, so the shared metadata is complete (migrations, tests)."""

from __future__ import annotations

import importlib
import importlib.util

from bastion.store import schema  # noqa: F401

#: Capability table modules; one line per capability that owns tables.
CAPABILITY_TABLES = ("media", "exchanges", "threats", "accounts", "campaigns", "api", "labels", "models")

for _name in CAPABILITY_TABLES:
    _module = f"bastion.store.{_name}"
    if importlib.util.find_spec(_module) is not None:
        importlib.import_module(_module)
