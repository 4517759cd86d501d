"""Near-duplicate text clusters (64-bit SimHash with LSH banding).

Barrages reuse text: retweets, copy-paste with a different link or mention, template posts with one word
changed. Each post gets a SimHash of its normalised tokens (words and word pairs, after dropping URLs,
mentions, digits and a leading ``RT @user:``); a post joins the cluster of a recent post within
``max_distance`` bits. Candidates are found by banding: the 64 bits are cut into ``max_distance + 1`` bands,
and by the pigeonhole principle two fingerprints within that distance agree exactly on at least one band.

SimHash rather than MinHash (``datasketch``) because a post needs one 64-bit integer, cheap to keep in
keyed state and to write to a JSON snapshot, and tweets are short enough that SimHash's bias against
long documents does not bite. Hashing uses BLAKE2b, never Python's salted ``hash()``, so fingerprints are
stable across processes and restores.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Collection, Iterator, Sequence
from typing import Any, cast

import numpy as np

from bastion.detector import BatchedView

_STRIP = re.compile(r"^rt\s+@\w+:?\s*|https?://\S+|@\w+|[\d_]+", re.IGNORECASE)
_TOKEN = re.compile(r"\w+", re.UNICODE)
_MASK64 = (1 << 64) - 1


def tokens(text: str) -> list[str]:
    """Normalised shingles of a post: words and adjacent word pairs."""
    words = _TOKEN.findall(_STRIP.sub(" ", text.casefold()))
    return words + list(map(" ".join, itertools.pairwise(words)))


class _TokenHashes:
    """BLAKE2b-64 of tokens, memoised (vocabularies repeat; a dict hit is ~20x cheaper than a digest)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self.limit = limit
        self._memo: dict[str, bytes] = {}

    def digests(self, tokens: Collection[str]) -> list[bytes]:
        """:meth:`digest` of each token, in order (the memo's look-ups in one pass in C)."""
        found = list(map(self._memo.get, tokens))
        if None not in found:
            return cast(list[bytes], found)
        return [d or self.digest(t) for d, t in zip(found, tokens, strict=True)]

    def digest(self, token: str) -> bytes:
        d = self._memo.get(token)
        if d is None:
            if len(self._memo) >= self.limit:
                self._memo.clear()
            d = self._memo[token] = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        return d


_HASHES = _TokenHashes()


def simhashes(texts: Sequence[str], min_words: int = 4) -> list[int | None]:
    """64-bit SimHash of each text; ``None`` for posts too short to say anything (fewer than ``min_words``).

    A whole batch in a few array operations: the digests of every post's distinct tokens in one buffer, their
    bits unpacked once, counted per post with one ``reduceat`` and packed back (a bit is set where most of the
    post's tokens set it)."""
    out: list[int | None] = [None] * len(texts)
    rows: list[int] = []
    sizes: list[int] = []
    found: list[bytes] = []
    for i, text in enumerate(texts):
        toks = tokens(text)
        if (len(toks) + 1) // 2 < min_words:
            continue
        uniq = set(toks)
        found += _HASHES.digests(uniq)
        rows.append(i)
        sizes.append(len(uniq))
    if not rows:
        return out
    bits = np.unpackbits(np.frombuffer(b"".join(found), dtype=np.uint8).reshape(-1, 8), axis=1,
                         bitorder="little")
    n = np.asarray(sizes, dtype=np.int32)
    starts = np.zeros(len(n), dtype=np.intp)
    np.cumsum(n[:-1], out=starts[1:])
    ones = np.add.reduceat(bits, starts, axis=0, dtype=np.int32)
    packed = np.packbits(ones * 2 > n[:, None], axis=1, bitorder="little")
    for i, fp in zip(rows, packed.view("<u8").ravel().tolist(), strict=True):
        out[i] = fp
    return out


def _simhash(text: str) -> int | None:
    return simhashes([text])[0]


#: 64-bit SimHash of one text (``None`` below four words); ``simhash.many`` does a batch at once. A post's
#: view (:meth:`bastion.detector.PostContext.view`), so a scan computes it once, ahead in a worker if it has one.
simhash: BatchedView[int | None] = BatchedView(_simhash, simhashes)


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _MASK64).bit_count()


class NearDupIndex:
    """Assigns near-duplicate cluster ids to fingerprints, remembering fingerprints for ``horizon_s``."""

    def __init__(self, max_distance: int = 3, horizon_s: float = 6 * 3600.0) -> None:
        self.max_distance = max_distance
        self.horizon_s = horizon_s
        self._bands = max_distance + 1
        self._width = 64 // self._bands
        # (band index, band value) -> [cluster id, fingerprint, last seen]
        self._table: dict[tuple[int, int], list[Any]] = {}
        self._next = 0

    def _band_keys(self, fp: int) -> Iterator[tuple[int, int]]:
        mask = (1 << self._width) - 1
        for i in range(self._bands):
            yield i, (fp >> (i * self._width)) & mask

    def assign(self, fp: int, ts: float) -> str:
        """Cluster id of ``fp`` (joining a recent near-duplicate's cluster, or a new one)."""
        keys = list(self._band_keys(fp))
        cluster: str | None = None
        for key in keys:
            entry = self._table.get(key)
            if (entry is not None and ts - entry[2] <= self.horizon_s
                    and hamming(entry[1], fp) <= self.max_distance):
                cluster = entry[0]
                break
        if cluster is None:
            cluster = f"t{self._next:x}"
            self._next += 1
        for key in keys:
            self._table[key] = [cluster, fp, ts]
        return cluster

    def prune(self, ts: float) -> int:
        drop = [k for k, v in self._table.items() if ts - v[2] > self.horizon_s]
        for k in drop:
            del self._table[k]
        return len(drop)

    def snapshot(self) -> dict[str, Any]:
        return {"next": self._next, "table": [[i, v, *e] for (i, v), e in self._table.items()]}

    def restore(self, data: dict[str, Any]) -> None:
        self._next = int(data.get("next", 0))
        self._table = {(int(i), int(v)): [str(c), int(fp), float(t)]
                       for i, v, c, fp, t in data.get("table", [])}
