"""Guard: the core never imports the web framework, a cluster runtime, or (for pure stages) the database."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = ["bastion.records", "bastion.signals", "bastion.policy.engine", "bastion.policy.loader",
        "bastion.detector", "bastion.pipeline.runtime", "bastion.ingest"]
CORE = [*PURE, "bastion.text", "bastion.media", "bastion.accounts", "bastion.campaigns", "bastion.threats",
        "bastion.store.writer", "bastion.audit.log"]


def imported_after(module: str) -> set[str]:
    code = f"import importlib, sys; importlib.import_module({module!r}); print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {m.split(".")[0] for m in out.split()}


@pytest.mark.parametrize("module", CORE)
def test_core_never_imports_web_or_cluster_runtimes(module: str) -> None:
    mods = imported_after(module)
    assert not mods & {"fastapi", "starlette", "uvicorn", "pyspark", "jinja2"}, module


@pytest.mark.parametrize("module", PURE)
def test_pure_stages_never_import_the_database(module: str) -> None:
    assert "sqlalchemy" not in imported_after(module), module
