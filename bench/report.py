"""How a benchmark hands over its report: printed as JSON, and written to ``--json`` when given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(report: Any, path: Path | None) -> None:
    """Print ``report`` as indented JSON and, with a ``path``, write the same text there (folders created)."""
    text = json.dumps(report, indent=2)
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
