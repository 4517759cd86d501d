"""YAML read with libyaml's C parser where PyYAML was built with it (ten times the pure-Python loader).

Shipped lexicons and assets are read at every start-up; the pure-Python loader cost most of a second of it.
Both loaders are the *safe* ones: no Python objects are ever constructed from YAML. A mapping that repeats a
key is an error (PyYAML keeps the last one silently: a second ``HUMAN:`` list once erased the first).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SafeLoader(_Base):  # type: ignore[valid-type,misc]
    """The safe loader, refusing a mapping that repeats a key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})", key_node.start_mark)
            seen[key] = key_node
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def safe_load(text: str) -> Any:
    """Like :func:`yaml.safe_load`, with the C parser when there is one; a repeated key is an error."""
    return yaml.load(text, Loader=SafeLoader)
