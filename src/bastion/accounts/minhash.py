"""MinHash signatures and LSH band keys, vectorised with NumPy.

``datasketch`` implements the same scheme one set at a time; building an index of a million suspended
profiles needs the batch form here (one ``reduceat`` per chunk of sets), and the band keys must be plain
64-bit integers so that they go into the sorted-array :class:`~bastion.accounts.keyindex.KeyIndex` rather
than into a million-entry Python dict. Elements are hashed with CRC-32 (fast, stable) and
permuted by ``(a * x + b) mod (2^31 - 1)`` with fixed seeds, so signatures are identical in every process
and after a restore.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import numpy as np

MERSENNE = np.uint64((1 << 31) - 1)
EMPTY = np.uint32(0xFFFFFFFF)


class MinHasher:
    """``num_perm`` fixed hash permutations; ``bands`` × ``rows`` of them make the LSH band keys."""

    def __init__(self, num_perm: int = 32, bands: int = 8, seed: int = 7, salt: int = 0) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        rng = np.random.default_rng(seed)
        self.num_perm, self.bands, self.rows = num_perm, bands, num_perm // bands
        self.a = rng.integers(1, int(MERSENNE), num_perm, dtype=np.uint64)
        self.b = rng.integers(0, int(MERSENNE), num_perm, dtype=np.uint64)
        self.salt = np.uint64(salt)
        mix = rng.integers(1, 1 << 62, self.rows + 1, dtype=np.uint64) | np.uint64(1)
        self._mix = mix

    def signatures(self, sets: Sequence[Iterable[str]], chunk: int = 200_000) -> np.ndarray:
        """One signature (``num_perm`` uint32) per set of strings; an empty set's signature is all EMPTY."""
        hashed = [np.fromiter((zlib.crc32(s.encode()) for s in set(items)), dtype=np.uint64)
                  for items in sets]
        out = np.full((len(sets), self.num_perm), EMPTY, dtype=np.uint32)
        start = 0
        while start < len(hashed):
            stop, total = start, 0
            while stop < len(hashed) and (total < chunk or stop == start):
                total += len(hashed[stop])
                stop += 1
            block = hashed[start:stop]
            sizes = np.fromiter((len(h) for h in block), dtype=np.int64, count=len(block))
            nonempty = np.flatnonzero(sizes)
            if len(nonempty):
                flat = np.concatenate([block[i] for i in nonempty]) % MERSENNE
                values = (self.a[:, None] * flat[None, :] + self.b[:, None]) % MERSENNE
                offsets = np.concatenate([[0], np.cumsum(sizes[nonempty])[:-1]])
                mins = np.minimum.reduceat(values, offsets, axis=1).T
                out[start + nonempty] = mins.astype(np.uint32)
            start = stop
        return out

    def band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """(n, bands) uint64 keys; a row of an empty signature gets key 0 (never indexed)."""
        n = sigs.shape[0]
        rows = sigs.reshape(n, self.bands, self.rows).astype(np.uint64)
        keys = np.full((n, self.bands), self.salt, dtype=np.uint64)
        for r in range(self.rows):
            keys = (keys * self._mix[-1]) ^ (rows[:, :, r] * self._mix[r])
        keys ^= (np.arange(self.bands, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        keys[np.all(sigs == EMPTY, axis=1)] = 0
        keys[keys == 0] = 1
        keys[np.all(sigs == EMPTY, axis=1)] = 0
        return keys


def agreement(query: np.ndarray, sigs: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of one signature with each row of ``sigs`` (0 where either is empty)."""
    if sigs.shape[0] == 0:
        return np.zeros(0)
    est: np.ndarray = np.asarray((sigs == query[None, :]).mean(axis=1), dtype=np.float64)
    est[np.all(sigs == EMPTY, axis=1)] = 0.0
    if np.all(query == EMPTY):
        est[:] = 0.0
    return est
