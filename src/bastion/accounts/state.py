"""Snapshot format of the account detectors: one ``.npz`` with a JSON member and NumPy arrays.

Detector state must survive restarts and move between workers without pickle (which executes code when
loaded): ``np.load(..., allow_pickle=False)`` reads only plain arrays, and the JSON member holds the rest.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

JSON_MEMBER = "state_json"


def pack(doc: Any, arrays: Mapping[str, np.ndarray]) -> bytes:
    members: dict[str, Any] = {JSON_MEMBER: np.frombuffer(orjson.dumps(doc), dtype=np.uint8), **arrays}
    buf = io.BytesIO()
    np.savez_compressed(buf, **members)
    return buf.getvalue()


def unpack(data: bytes) -> tuple[Any, dict[str, np.ndarray]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    doc = orjson.loads(arrays.pop(JSON_MEMBER).tobytes())
    return doc, arrays
