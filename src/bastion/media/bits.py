"""256-bit hash helpers: hex strings <-> packed ``uint64`` rows, Hamming distance.

A PDQ hash is 64 hex characters, most significant bit first (the reference's ``toString``). Indexes keep
hashes as rows of four native ``uint64`` words: the byte order inside a row does not matter for Hamming
distance, so a row is just ``bytes.fromhex(hex)`` reinterpreted, and converting millions of hashes is one
C-level ``bytes.fromhex`` call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

HEX256 = re.compile(r"^[0-9a-fA-F]{64}$")

Words = NDArray[np.uint64]


def is_hex256(s: str) -> bool:
    return bool(HEX256.match(s))


def to_words(hexes: Sequence[str] | Iterable[str]) -> Words:
    """Hex strings (64 characters each) to an ``(n, 4)`` uint64 array. Raises ValueError on bad input."""
    items = list(hexes)
    for h in items:
        if len(h) != 64:
            raise ValueError(f"not a 256-bit hex hash: {h[:70]!r}")
    if not items:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = bytes.fromhex("".join(items))
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4).copy()


def to_hex(words: Words) -> list[str]:
    """Inverse of :func:`to_words`."""
    raw = np.ascontiguousarray(words, dtype=np.uint64).tobytes()
    return [raw[i:i + 32].hex() for i in range(0, len(raw), 32)]


def hamming(a: str, b: str) -> int:
    """Hamming distance between two hex hashes of equal length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def distances(words: Words, query: Words) -> NDArray[np.int32]:
    """Hamming distance from one query row ``(4,)`` to every row of ``words`` ``(n, 4)``."""
    x = np.bitwise_count(words ^ query.reshape(1, 4))
    out: NDArray[np.int32] = x.sum(axis=1, dtype=np.int32)
    return out
