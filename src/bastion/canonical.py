"""Canonical JSON, the byte form that every hash of the audit chain and of a decision is taken over.

One definition for every layer that hashes or stores hashed content (audit, store), kept at the bottom so that
none of them has to import another for it.
"""

from __future__ import annotations

from typing import Any

import orjson


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8; datetimes as ISO 8601."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
