"""YAML read with libyaml's C parser where PyYAML was built with it (ten times the pure-Python loader).

Shipped lexicons and assets are read at every start-up; the pure-Python loader cost most of a second of it.
Both loaders are the *safe* ones: no Python objects are ever constructed from YAML.
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Like :func:`yaml.safe_load`, with the C parser when there is one."""
    return yaml.load(text, Loader=SafeLoader)
