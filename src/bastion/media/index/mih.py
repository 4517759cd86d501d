"""An exact multi-index-hashing (MIH) index of 256-bit hashes, in numpy, with incremental add and remove.

Why not faiss' ``IndexBinaryMultiHash`` (what python-threatexchange uses)? Its buckets are hash maps of
vectors, adding needs the id map rebuilt, and it pickles. This index keeps everything in a handful of flat
arrays, so queries are a few vectorised gathers, a batch of queries costs little more than one, and the
index persists as plain arrays (``.npz``, loaded with ``allow_pickle=False``).

Layout. The 256 bits are cut into 16 chunks of 16 bits. For each chunk the row ids are sorted by the
chunk's value (one CSR table: ``_offsets`` of 16 x 65 537 bucket starts, ``_postings`` of 16 x n row ids).

Exactness (Norouzi et al.'s generalised pigeonhole): if two hashes are within distance ``r``, then for
*any* per-chunk radii ``t_c`` with ``sum(t_c + 1) >= r + 1`` some chunk ``c`` differs by at most ``t_c``
bits. We use ``t_c = q`` on ``rem`` chunks and ``q - 1`` on the rest, with ``q, rem = divmod(r + 1, 16)``
(a chunk with radius -1 is not probed). Every row in a probed bucket is then checked against the full
256 bits, so the result is exactly the brute-force answer; tests/media/test_index.py checks that.
At r = 31 that is radius 1 in all 16 chunks: 272 bucket probes, about 272 * n / 65 536 candidates.

Sketches. Checking a candidate against its full hash is a random read into the hash table, and at a
million hashes those reads are the whole cost of a query. So next to each posting the table also keeps one
or two other 64-bit words of the hash (``sketch``), contiguous within a bucket: their distance to the
query's words is a lower bound of the full distance, so candidates over the threshold on the sketch are
dropped without touching the hash table (with two words, random candidates essentially never pass). Two
words cost 16 bytes per hash per chunk (352 MB at 1 M hashes); ``build`` uses two up to 4 M hashes and
one above, to keep 10 M hashes within a few gigabytes.

Incremental updates. ``add`` appends to a small *pending* buffer that queries scan by brute force (so a new
hash matches immediately); once it holds ``merge_at`` rows it is merged into the CSR tables by one
insertion pass (linear in the index size, no sorting). ``remove`` clears an ``alive`` flag; rows are
physically dropped by :meth:`compact`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import combinations
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.media.bits import Words

NCHUNK = 16
BUCKETS = 1 << 16
#: Which hash word is copied next to the postings of chunk c (first and second sketch word): words
#: other than the chunk's own, whose 16 bits are already known to be close.
SKETCH_WORD = (np.array([(c // 4 + 2) % 4 for c in range(NCHUNK)], dtype=np.intp),
               np.array([(c // 4 + 1) % 4 for c in range(NCHUNK)], dtype=np.intp))
FORMAT = "bastion.mih/1"
_BATCH = 256  # queries per vectorised step (bounds temporary memory)


def _flip_masks(radius: int) -> NDArray[np.uint16]:
    """Every 16-bit mask with at most ``radius`` bits set (radius 0: just 0)."""
    masks = [sum(1 << b for b in bits) for k in range(radius + 1) for bits in combinations(range(16), k)]
    return np.array(masks, dtype=np.uint16)


def chunk_radii(threshold: int) -> list[int]:
    """Per-chunk probing radii for an exact search at ``threshold`` (see the module docstring)."""
    q, rem = divmod(threshold + 1, NCHUNK)
    return [q] * rem + [q - 1] * (NCHUNK - rem)


def probes_per_query(threshold: int) -> int:
    return sum(sum(comb(16, k) for k in range(t + 1)) for t in chunk_radii(threshold) if t >= 0)


class MIHIndex:
    """Exact range search over 256-bit hashes. Row ids are ``int64`` labels chosen by the caller."""

    def __init__(self, *, merge_at: int = 8192, sketch: int = 2) -> None:
        if sketch not in (0, 1, 2):
            raise ValueError("sketch is 0, 1 or 2 words")
        self.merge_at = merge_at
        self.sketch = sketch
        self._sketches: list[NDArray[np.uint64]] = [np.zeros(0, dtype=np.uint64) for _ in range(sketch)]
        self._words: Words = np.zeros((0, 4), dtype=np.uint64)  # indexed rows (in the CSR tables)
        self._labels: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._alive: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        self._offsets: NDArray[np.int64] = np.zeros(NCHUNK * BUCKETS + 1, dtype=np.int64)
        self._postings: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._pw: Words = np.zeros((merge_at, 4), dtype=np.uint64)  # pending rows (not yet in the tables)
        self._pl: NDArray[np.int64] = np.zeros(merge_at, dtype=np.int64)
        self._np = 0
        self._dead = 0
        self._probes: dict[int, tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]]] = {}

    # -- building ---------------------------------------------------------------------------------------
    @classmethod
    def build(cls, words: Words, labels: NDArray[np.int64] | Sequence[int] | None = None, *,
              merge_at: int = 8192, sketch: int | None = None) -> MIHIndex:
        """Bulk-build from an ``(n, 4)`` uint64 array (one stable radix sort per chunk). ``sketch``:
        words copied next to each posting (default: 2 up to 4 M rows, then 1, to stay in memory)."""
        words = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, 4)
        n = len(words)
        idx = cls(merge_at=merge_at, sketch=(2 if n <= 4_000_000 else 1) if sketch is None else sketch)
        if n >= 2**31:
            raise ValueError("MIHIndex holds at most 2**31 - 1 rows")
        lab = np.arange(n, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
        if len(lab) != n:
            raise ValueError("labels and words differ in length")
        idx._words, idx._labels, idx._alive = words, lab.copy(), np.ones(n, dtype=np.bool_)
        keys = words.view(np.uint16)  # (n, 16)
        postings = np.empty(NCHUNK * n, dtype=np.int32)
        sketches = [np.empty(NCHUNK * n, dtype=np.uint64) for _ in range(idx.sketch)]
        offsets = np.empty(NCHUNK * BUCKETS + 1, dtype=np.int64)
        offsets[0] = 0
        columns: dict[int, NDArray[np.uint64]] = {}
        for c in range(NCHUNK):
            key = keys[:, c]
            order = np.argsort(key, kind="stable")
            postings[c * n:(c + 1) * n] = order
            for j, sk in enumerate(sketches):
                w = int(SKETCH_WORD[j][c])
                if w not in columns:  # gather from a contiguous copy: half the cache traffic
                    if len(columns) >= idx.sketch:
                        columns.clear()
                    columns[w] = np.ascontiguousarray(words[:, w])
                np.take(columns[w], order, out=sk[c * n:(c + 1) * n])
            counts = np.bincount(key, minlength=BUCKETS)
            offsets[c * BUCKETS + 1:(c + 1) * BUCKETS + 1] = c * n + np.cumsum(counts)
        idx._postings, idx._offsets, idx._sketches = postings, offsets, sketches
        return idx

    def __len__(self) -> int:
        return len(self._words) + self._np - self._dead

    @property
    def nbytes(self) -> int:
        return int(self._words.nbytes + self._labels.nbytes + self._alive.nbytes + self._offsets.nbytes
                   + self._postings.nbytes + sum(sk.nbytes for sk in self._sketches) + self._pw.nbytes
                   + self._pl.nbytes)

    def add(self, words: Words, labels: Sequence[int] | NDArray[np.int64]) -> None:
        """Add rows; they are searchable at once. Amortised O(1) per row (a merge every ``merge_at``)."""
        w = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1, 4)
        lab = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(lab) != len(w):
            raise ValueError("labels and words differ in length")
        if len(w) >= self.merge_at:  # a bulk load: one insertion pass
            self.merge()
            self._insert(w, lab)
            return
        i = 0
        while i < len(w):
            room = len(self._pw) - self._np
            if room == 0:
                self.merge()
                continue
            k = min(room, len(w) - i)
            self._pw[self._np:self._np + k] = w[i:i + k]
            self._pl[self._np:self._np + k] = lab[i:i + k]
            self._np += k
            i += k
        if self._np >= self.merge_at:
            self.merge()

    def remove(self, label: int) -> int:
        """Remove every row with ``label``; returns how many were removed. O(n), vectorised."""
        return self.remove_range(label, label + 1)

    def remove_range(self, lo: int, hi: int) -> int:
        """Remove every row whose label lies in ``[lo, hi)``."""
        removed = 0
        if self._np:
            pl = self._pl[:self._np]
            keep = (pl < lo) | (pl >= hi)
            k = int(keep.sum())
            if k < self._np:
                removed += self._np - k
                self._pw[:k] = self._pw[:self._np][keep]
                self._pl[:k] = pl[keep]
                self._np = k
        rows = np.flatnonzero((self._labels >= lo) & (self._labels < hi) & self._alive)
        if len(rows):
            self._alive[rows] = False
            self._dead += len(rows)
            removed += len(rows)
        return removed

    def merge(self) -> None:
        """Move pending rows into the CSR tables: one insertion pass per table, no re-sorting."""
        if self._np == 0:
            return
        new, new_labels = self._pw[:self._np].copy(), self._pl[:self._np].copy()
        self._np = 0
        self._insert(new, new_labels)

    def _insert(self, new: Words, new_labels: NDArray[np.int64]) -> None:
        n_old, k = len(self._words), len(new)
        n = n_old + k
        rows = np.arange(n_old, n, dtype=np.int32)
        keys = new.view(np.uint16)
        # Global bucket of each new (chunk, row); new rows go to the end of their bucket.
        gb = (np.arange(NCHUNK, dtype=np.int64)[None, :] * BUCKETS + keys.astype(np.int64)).T.ravel()
        order = np.argsort(gb, kind="stable")
        gb_sorted = gb[order]
        ins_rows = np.tile(rows, NCHUNK)[order]
        ins_chunks = order // k
        positions = self._offsets[gb_sorted + 1]
        self._postings = np.insert(self._postings, positions, ins_rows)
        for j in range(self.sketch):
            vals = new[ins_rows - n_old, SKETCH_WORD[j][ins_chunks]]
            self._sketches[j] = np.insert(self._sketches[j], positions, vals)
        shift = np.bincount(gb_sorted + 1, minlength=NCHUNK * BUCKETS + 1)
        self._offsets = self._offsets + np.cumsum(shift)
        self._words = np.concatenate([self._words, new])
        self._labels = np.concatenate([self._labels, new_labels])
        self._alive = np.concatenate([self._alive, np.ones(k, dtype=np.bool_)])

    def compact(self) -> None:
        """Drop removed rows for good (a rebuild of the tables)."""
        self.merge()
        keep = self._alive
        rebuilt = MIHIndex.build(self._words[keep], self._labels[keep], merge_at=self.merge_at,
                                 sketch=self.sketch)
        self.__dict__.update(rebuilt.__dict__)

    # -- search -----------------------------------------------------------------------------------------
    def _probe_masks(self, threshold: int) -> tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]]:
        """(chunk, flip mask, chunk * 65 536) of every probe of one query; cached per threshold."""
        cached = self._probes.get(threshold)
        if cached is None:
            chunks, masks = [], []
            for c, t in enumerate(chunk_radii(threshold)):
                if t >= 0:
                    m = _flip_masks(t)
                    chunks.append(np.full(len(m), c, dtype=np.intp))
                    masks.append(m.astype(np.int64))
            pchunk = np.concatenate(chunks)
            cached = self._probes[threshold] = (pchunk, np.concatenate(masks), pchunk.astype(np.int64) * BUCKETS)
        return cached

    def search(self, queries: Words, threshold: int
               ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int32]]:
        """Every (query row, label, distance) with distance <= ``threshold``, sorted by query row.

        ``queries`` is ``(q, 4)`` uint64. Exact for any threshold; above 63 it scans everything."""
        q = np.ascontiguousarray(queries, dtype=np.uint64).reshape(-1, 4)
        out_q: list[NDArray[np.int64]] = []
        out_l: list[NDArray[np.int64]] = []
        out_d: list[NDArray[np.int32]] = []
        # Batch so that one step handles ~100 k candidates: larger steps only add cache misses.
        per_query = len(self._probe_masks(threshold)[1]) * (len(self._words) / BUCKETS + 1)
        batch = int(min(_BATCH, max(1, 100_000 // per_query)))
        for s in range(0, len(q), batch):
            qi, rows, d = self._search_indexed(q[s:s + batch], threshold)
            out_q.append(qi + s)
            out_l.append(self._labels[rows])
            out_d.append(d)
        if self._np:
            qi, pi, d = _scan(q, self._pw[:self._np], threshold)
            out_q.append(qi)
            out_l.append(self._pl[pi])
            out_d.append(d)
        if not out_q:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))
        qa, la, da = np.concatenate(out_q), np.concatenate(out_l), np.concatenate(out_d)
        order = np.argsort(qa, kind="stable")
        return qa[order], la[order], da[order]

    def _search_indexed(self, q: Words, threshold: int
                        ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int32]]:
        """(query row, row, distance) triples from the CSR tables (pending rows not included)."""
        n = len(self._words)
        if n == 0 or len(q) == 0:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))
        pchunk, pmask, pbase = self._probe_masks(threshold)
        if threshold >= 64 or len(pmask) * (n / BUCKETS + 1) > n:
            # Probing would touch more rows than a scan: scan.
            qi, rows, d = _scan(q, self._words, threshold)
            keep = self._alive[rows]
            return qi[keep], rows[keep], d[keep]
        keys = q.view(np.uint16).astype(np.int64)  # (q, 16)
        flat = ((keys[:, pchunk] ^ pmask) + pbase).ravel()
        starts = self._offsets.take(flat)
        ends = self._offsets[1:].take(flat)
        lengths = ends - starts
        csum = np.cumsum(lengths)
        total = int(csum[-1])
        # positions of every candidate: bucket b contributes starts[b] ... ends[b] - 1
        pos = np.repeat(ends - csum, lengths)
        pos += np.arange(total, dtype=np.int64)
        per_query = lengths.reshape(len(q), -1).sum(axis=1)
        if self.sketch:
            # Prefilter on the words stored next to the postings (contiguous per bucket, so no random
            # reads): their distance is a lower bound of the full distance.
            dsk = np.zeros(total, dtype=np.uint8)
            for j, sk in enumerate(self._sketches):
                qv = np.repeat(q[:, SKETCH_WORD[j][pchunk]].ravel(), lengths)
                qv ^= sk.take(pos)
                dsk += np.bitwise_count(qv)
            passed = np.flatnonzero(dsk <= threshold)
            pos = pos.take(passed)
            qsel = np.repeat(np.arange(len(q), dtype=np.int64), per_query).take(passed)
        else:
            qsel = np.repeat(np.arange(len(q), dtype=np.int64), per_query)
        cand = self._postings.take(pos)
        g = self._words.take(cand, axis=0)
        qidx = qsel
        if len(q) == 1:
            g ^= q
        else:
            g ^= q[qidx]
        hit, dist = _within(g, threshold)
        qh, rows = qidx[hit], cand[hit].astype(np.int64)
        if self._dead:
            keep = self._alive[rows]
            qh, rows, dist = qh[keep], rows[keep], dist[keep]
        if len(rows) > 1:  # a row found through several chunks: keep one (query, row) pair
            _, first = np.unique(qh * n + rows, return_index=True)
            qh, rows, dist = qh[first], rows[first], dist[first]
        return qh, rows, dist

    def query(self, word: Words, threshold: int) -> list[tuple[int, int]]:
        """(label, distance) pairs for one hash, nearest first."""
        q = np.ascontiguousarray(word, dtype=np.uint64).reshape(1, 4)
        _, rows, d = self._search_indexed(q, threshold)
        pairs = list(zip(self._labels[rows].tolist(), d.tolist(), strict=True))
        if self._np:
            _, pi, pd = _scan(q, self._pw[:self._np], threshold)
            pairs += zip(self._pl[pi].tolist(), pd.tolist(), strict=True)
        pairs.sort(key=lambda x: x[1])
        return pairs

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the index as an ``.npz`` of plain arrays plus a JSON header (no pickle)."""
        self.merge()
        header = json.dumps({"format": FORMAT, "rows": len(self._words), "merge_at": self.merge_at,
                             "sketch": self.sketch})
        arrays: dict[str, Any] = {"header": np.frombuffer(header.encode(), dtype=np.uint8),
                                  "words": self._words, "labels": self._labels, "alive": self._alive,
                                  "offsets": self._offsets, "postings": self._postings}
        arrays.update({f"sketch{j}": sk for j, sk in enumerate(self._sketches)})
        with Path(path).open("wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> MIHIndex:
        with np.load(Path(path), allow_pickle=False) as z:
            header: dict[str, Any] = json.loads(bytes(z["header"]).decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file: {header.get('format')!r}")
            idx = cls(merge_at=int(header.get("merge_at", 8192)), sketch=int(header.get("sketch", 0)))
            idx._words, idx._labels, idx._alive = z["words"], z["labels"], z["alive"]
            idx._offsets, idx._postings = z["offsets"], z["postings"]
            idx._sketches = [z[f"sketch{j}"] for j in range(idx.sketch)]
        n = len(idx._words)
        tables: list[NDArray[Any]] = [idx._postings, *idx._sketches]
        if n != header["rows"] or any(len(a) != NCHUNK * n for a in tables):
            raise ValueError("index file is inconsistent")
        idx._dead = int((~idx._alive).sum())
        return idx


def _within(x: Words, threshold: int) -> tuple[NDArray[np.bool_], NDArray[np.int32]]:
    """Which rows of ``x`` (already XORed with their query) have at most ``threshold`` bits set, and
    their counts.

    The four per-word popcounts (each <= 64) are the bytes of one uint32; multiplying by 0x01010101 sums
    them into the top byte, modulo 256. That prefilter is exact except that 256 (every bit differs) reads
    as 0, so the few rows that pass are recounted exactly."""
    pc = np.bitwise_count(x)
    if threshold >= 255:
        d = pc.sum(axis=1, dtype=np.int32)
        return d <= threshold, d[d <= threshold]
    packed = pc.view(np.uint32).reshape(-1) * np.uint32(0x01010101)
    hit = np.flatnonzero(packed <= np.uint32((threshold << 24) | 0xFFFFFF))
    exact = pc[hit].sum(axis=1, dtype=np.int32)
    keep = exact <= threshold
    mask = np.zeros(len(x), dtype=np.bool_)
    mask[hit[keep]] = True
    return mask, exact[keep]


def _scan(q: Words, words: Words, threshold: int
          ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int32]]:
    """Brute force: every (query, row, distance) within ``threshold``, one query at a time."""
    qs, rs, ds = [], [], []
    for i in range(len(q)):
        hit, d = _within(words ^ q[i], threshold)
        rows = np.flatnonzero(hit)
        qs.append(np.full(len(rows), i, dtype=np.int64))
        rs.append(rows.astype(np.int64))
        ds.append(d)
    if not qs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
    return np.concatenate(qs), np.concatenate(rs), np.concatenate(ds)
