"""Bastion on Apache Spark: the same records, detectors and policy, with Spark as the engine.

:mod:`bastion.spark.score` is plain Python (no Spark): it turns input lines into decisions and quarantined
records exactly as ``bastion scan`` does, and is what every Spark task runs. :mod:`bastion.spark.job` is the
Spark side: it reads the inputs in parallel, runs :func:`~bastion.spark.score.score_lines` over Arrow batches
(``mapInPandas``; each Python worker builds its detectors once) and writes the decisions as Parquet, partitioned
by date, with the quarantine beside them. PySpark is an optional dependency (``bastion[spark]``).
"""

from __future__ import annotations

import importlib.util
import shutil


def columns(schema: str) -> list[str]:
    """The column names of a Spark DDL schema string (``"id string, value double"`` -> ``["id", "value"]``)."""
    return [part.split()[0] for part in schema.split(",")]


def unavailable() -> str | None:
    """Why Spark cannot run on this machine (PySpark, pyarrow or a Java runtime missing), or None."""
    for module in ("pyspark", "pyarrow"):
        if importlib.util.find_spec(module) is None:
            return f"{module} not installed: pip install 'bastion[spark]'"
    if shutil.which("java") is None:
        return "no Java runtime (scripts/setup-system.sh installs one)"
    return None
