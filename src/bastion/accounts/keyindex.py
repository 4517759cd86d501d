"""An exact-match multimap from 64-bit keys to row numbers, for millions of entries.

A Python dict of a million fingerprints × dozens of keys would take gigabytes; two sorted NumPy arrays
(keys, rows) take 12 bytes an entry and answer a batch of look-ups with two ``searchsorted`` calls. New
entries go to a small dict first and are merged into the sorted arrays in bulk (a two-level LSM tree), so
suspensions arriving one at a time stay cheap (a merge waits until the pending part is 5% of the sorted
one, so the total merge work stays linear). The arrays persist as ``.npz`` members, never pickle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np


class KeyIndex:
    def __init__(self, merge_every: int = 100_000) -> None:
        self.merge_every = merge_every
        self._keys = np.zeros(0, dtype=np.uint64)
        self._rows = np.zeros(0, dtype=np.int64)
        self._pending: dict[int, list[int]] = {}
        self._pending_n = 0

    def __len__(self) -> int:
        return len(self._keys) + self._pending_n

    def add(self, keys: Iterable[int], row: int) -> None:
        for key in keys:
            if key:
                self._pending.setdefault(int(key), []).append(row)
                self._pending_n += 1
        if self._pending_n >= max(self.merge_every, len(self._keys) // 20):
            self.freeze()

    def add_many(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Bulk insert (parallel arrays; key 0 means "no key" and is skipped), merged at once."""
        keep = keys != 0
        self.freeze()
        self._merge(keys[keep].astype(np.uint64), rows[keep].astype(np.int64))

    def _merge(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Insert a batch into the sorted arrays: sort the batch, then one linear-time ``np.insert``."""
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        if len(self._keys) == 0:
            self._keys, self._rows = keys, rows
            return
        at = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, at, keys)
        self._rows = np.insert(self._rows, at, rows)

    def freeze(self) -> None:
        """Merge pending entries into the sorted arrays."""
        if not self._pending:
            return
        keys = np.fromiter((k for k, rs in self._pending.items() for _ in rs), dtype=np.uint64,
                           count=self._pending_n)
        rows = np.fromiter((r for rs in self._pending.values() for r in rs), dtype=np.int64,
                           count=self._pending_n)
        self._pending.clear()
        self._pending_n = 0
        self._merge(keys, rows)

    def lookup_many(self, keys: np.ndarray, limit: int | None = None) -> list[np.ndarray]:
        """Rows of each key (at most ``limit`` per key: a huge bucket is a common key, and carries little
        identity, so its first rows are enough); use :meth:`counts` for the full bucket sizes."""
        q = np.asarray(keys, dtype=np.uint64)
        lo = np.searchsorted(self._keys, q, side="left")
        hi = np.searchsorted(self._keys, q, side="right")
        out = []
        for i, key in enumerate(q.tolist()):
            stop = hi[i] if limit is None else min(hi[i], lo[i] + limit)
            frozen = self._rows[lo[i]:stop]
            extra = self._pending.get(key) if self._pending else None
            if extra:
                frozen = np.concatenate([frozen, np.asarray(extra[:limit], dtype=np.int64)])
            out.append(frozen)
        return out

    def counts(self, keys: np.ndarray) -> np.ndarray:
        q = np.asarray(keys, dtype=np.uint64)
        n = np.searchsorted(self._keys, q, side="right") - np.searchsorted(self._keys, q, side="left")
        if self._pending:
            n = n + np.fromiter((len(self._pending.get(k, ())) for k in q.tolist()), dtype=np.int64,
                                count=len(q))
        return n

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        self.freeze()
        return {f"{prefix}_keys": self._keys, f"{prefix}_rows": self._rows}

    @classmethod
    def from_arrays(cls, prefix: str, arrays: Mapping[str, np.ndarray], merge_every: int = 100_000
                    ) -> KeyIndex:
        idx = cls(merge_every)
        idx._keys = np.asarray(arrays[f"{prefix}_keys"], dtype=np.uint64)
        idx._rows = np.asarray(arrays[f"{prefix}_rows"], dtype=np.int64)
        return idx
