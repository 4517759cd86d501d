"""One local Spark session (``local[2]``) for every Spark test, started on first use."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def spark_unavailable() -> str | None:
    """Why Spark cannot run here, or None."""
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"PySpark not installed ({exc}): pip install '.[spark]'"
    if shutil.which("java") is None:
        return "no Java runtime (scripts/setup-system.sh installs one)"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if spark_unavailable() is not None:
        pytest.skip(str(spark_unavailable()))
    from bastion.spark.job import session

    s = session("local[2]", "bastion-tests")
    yield s
    s.stop()
