"""The index of suspended fingerprints that a registration is checked against.

Two stages keep a look-up against a million fingerprints within milliseconds:

1. **Candidates by key.** Each fingerprint is filed under exact keys - handle stem, look-alike-read stem,
   stem prefix, handle segments, consonant skeletons, name key and name words, hashed identifiers, links -
   and under MinHash LSH band keys of its name-and-bio words and of its posting style (hashtags, mentioned
   accounts, linked pages of its first posts), and multi-index chunks of its avatar's PDQ hash
   (16 × 16 bits: any avatar within 15 bits shares a chunk). All keys live in one sorted-array
   :class:`~bastion.accounts.keyindex.KeyIndex`; a query looks up its few dozen keys at once, and each
   candidate gets a quick score from the keys it shares (rarer keys count more).
2. **Exact comparison** (:func:`bastion.accounts.fingerprint.compare`) of the best ``rerank`` candidates,
   which gives the final score and the explanation.

:meth:`FingerprintIndex.brute_force` compares against every fingerprint; tests check the index against it.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import orjson

from bastion.accounts.fingerprint import Derived, EvidenceWeights, Fingerprint, Match, compare
from bastion.accounts.keyindex import KeyIndex
from bastion.accounts.minhash import MinHasher
from bastion.accounts.normalize import hash64

log = logging.getLogger(__name__)

#: Prior weight of sharing one key of each kind (stage 1 only; stage 2 recomputes from the fields).
KIND_WEIGHTS: Mapping[str, float] = {"id": 0.95, "ln": 0.8, "hs": 0.7, "hl": 0.65, "nk": 0.6, "hp": 0.4,
                                     "sg": 0.4, "nt": 0.35, "sk": 0.25, "bb": 0.6, "sb": 0.5, "pq": 0.7}
#: Fields whose rarity (how many suspended accounts share the key) discounts their evidence in stage 2.
RARITY_KIND = {"handle": "hs", "name": "nk", "identifier": "id", "link": "ln"}
PDQ_CHUNKS = 16
_PDQ_SALT = np.uint64(0x5D0A1D0A1D0A1D0A)


def rarity(count: int) -> float:
    """1 for a key only one suspended account has; slowly less for keys many share."""
    return 1.0 / (1.0 + 0.25 * math.log2(max(count, 1)))


def string_keys(d: Derived) -> list[tuple[str, int]]:
    """The exact keys of a fingerprint, as (kind, 64-bit key)."""
    out: list[tuple[str, str]] = []
    if len(d.stem) >= 3:
        out.append(("hs", d.stem))
        if len(d.stem) >= 7:
            out.append(("hp", d.stem[:6]))
    if len(d.leet) >= 3 and d.leet != d.stem:
        out.append(("hl", d.leet))
    out += [("sg", s) for s in d.segments if s != d.stem]
    out += [("sk", s) for s in d.skeletons]
    if len(d.name) >= 3:
        out.append(("nk", d.name))
    out += [("nt", t) for t in d.name_tokens if t != d.name]
    out += [("id", i) for i in d.identifiers]
    out += [("ln", link) for link in d.links]
    return [(kind, hash64(f"{kind}:{value}")) for kind, value in dict.fromkeys(out)]


def pdq_keys(pdq: bytes) -> np.ndarray:
    chunks = np.frombuffer(pdq, dtype=">u2").astype(np.uint64)
    return ((np.arange(PDQ_CHUNKS, dtype=np.uint64) + np.uint64(1)) << np.uint64(16) | chunks) ^ _PDQ_SALT


def lam(kind: str, count: int, per_kind: int) -> float:
    """Stage-1 evidence of sharing one key of ``kind`` that ``count`` suspended fingerprints are filed under,
    for a query with ``per_kind`` keys of that kind (a noisy-OR term, as a log)."""
    return -math.log(1.0 - KIND_WEIGHTS[kind] * rarity(count)) / per_kind


def rank(d: Derived, candidates: Iterable[tuple[Fingerprint, Derived]], k: int, rare: Mapping[str, float],
         weights: EvidenceWeights) -> list[Match]:
    """Stage 2: the exact comparison of a query with its candidates; the ``k`` best (score > 0), best first."""
    matches = []
    for fp, c in candidates:
        score, ev, conflicts = compare(d, c, rarity=rare, weights=weights)
        if score > 0:
            matches.append(Match(fp.account_id, fp.handle, score, ev, conflicts))
    matches.sort(key=lambda m: (-m.score, m.account_id))
    return matches[:k]


@dataclass(frozen=True, slots=True)
class IndexConfig:
    num_perm: int = 32
    bands: int = 8
    bucket_limit: int = 64
    rerank: int = 10
    derived_cache: int = 50_000


class FingerprintIndex:
    def __init__(self, config: IndexConfig | None = None, weights: EvidenceWeights | None = None) -> None:
        self.config = config or IndexConfig()
        self.weights = weights or EvidenceWeights()
        self.hasher = MinHasher(self.config.num_perm, self.config.bands, salt=0xB10)
        self.style_hasher = MinHasher(self.config.num_perm, self.config.bands, salt=0x57E)
        self.keys = KeyIndex()
        self.fingerprints: list[Fingerprint] = []
        self.rows: dict[str, int] = {}
        self._active = np.zeros(1024, dtype=bool)
        self._derived: OrderedDict[int, Derived] = OrderedDict()

    def __len__(self) -> int:
        return len(self.rows)

    def _band_keys(self, derived: list[Derived]) -> np.ndarray:
        """LSH band keys of the name-and-bio words, then of the posting style (0 where a set is empty)."""
        profile = self.hasher.band_keys(self.hasher.signatures([d.bio | d.name_tokens for d in derived]))
        style = self.style_hasher.band_keys(self.style_hasher.signatures([d.style for d in derived]))
        return np.concatenate([profile, style], axis=1)

    def _grow(self, n: int) -> None:
        if n > len(self._active):
            grown = np.zeros(max(n, 2 * len(self._active)), dtype=bool)
            grown[:len(self._active)] = self._active
            self._active = grown

    def add(self, fp: Fingerprint) -> int:
        """File a suspended account's fingerprint (replacing an older one of the same account)."""
        return self.add_many([fp])[0]

    def add_many(self, fps: list[Fingerprint]) -> list[int]:
        start = len(self.fingerprints)
        self._grow(start + len(fps))
        key_parts = self.keys_of([Derived.of(fp) for fp in fps])
        row_parts: list[np.ndarray] = []
        out = []
        for i, (fp, ks) in enumerate(zip(fps, key_parts, strict=True)):
            row = start + i
            old = self.rows.get(fp.account_id)
            if old is not None:
                self._active[old] = False
            self.rows[fp.account_id] = row
            self.fingerprints.append(fp)
            self._active[row] = True
            row_parts.append(np.full(len(ks), row, dtype=np.int64))
            out.append(row)
        if len(fps) == 1:
            self.keys.add(key_parts[0].tolist(), out[0])
        elif fps:
            self.keys.add_many(np.concatenate(key_parts), np.concatenate(row_parts))
        return out

    def keys_of(self, derived: list[Derived]) -> list[np.ndarray]:
        """The keys each fingerprint is filed under: its exact keys, the LSH band keys of its words and style
        (0 where a set is empty: never looked up), its avatar's chunks."""
        bands = self._band_keys(derived)
        out = []
        for i, d in enumerate(derived):
            parts = [np.asarray([k for _, k in string_keys(d)], dtype=np.uint64), bands[i]]
            if d.pdq is not None:
                parts.append(pdq_keys(d.pdq))
            out.append(np.concatenate(parts))
        return out

    def deactivate(self, account_id: str) -> bool:
        """Drop a fingerprint from matching (the account was reinstated). Its keys stay; rows are masked."""
        row = self.rows.pop(account_id, None)
        if row is None:
            return False
        self._active[row] = False
        return True

    def query_keys(self, d: Derived) -> tuple[list[str], np.ndarray]:
        """The kinds and keys a query looks up (band keys of empty sets left out)."""
        pairs = string_keys(d)
        kinds = [k for k, _ in pairs]
        parts = [np.asarray([k for _, k in pairs], dtype=np.uint64)]
        band = self._band_keys([d])[0]
        nb = self.config.bands
        for kind, keys in (("bb", band[:nb]), ("sb", band[nb:])):
            keys = keys[keys != 0]
            kinds += [kind] * len(keys)
            parts.append(keys)
        if d.pdq is not None:
            parts.append(pdq_keys(d.pdq))
            kinds += ["pq"] * PDQ_CHUNKS
        return kinds, np.concatenate(parts)

    def query(self, d: Derived, k: int = 5, exclude: str | None = None) -> list[Match]:
        """The ``k`` best-scoring suspended fingerprints for a new account, best first (score > 0 only)."""
        if not self.rows:
            return []
        kinds, keys = self.query_keys(d)
        if len(keys) == 0:
            return []
        counts = self.keys.counts(keys)
        found = self.keys.lookup_many(keys, limit=self.config.bucket_limit)
        per_kind = {kind: kinds.count(kind) for kind in set(kinds)}
        lams = np.array([lam(kind, int(c), per_kind[kind]) for kind, c in zip(kinds, counts.tolist(), strict=True)])
        sizes = np.fromiter((len(r) for r in found), dtype=np.int64, count=len(found))
        if sizes.sum() == 0:
            return []
        rows = np.concatenate(found)
        weight = np.repeat(lams, sizes)
        uniq, inv = np.unique(rows, return_inverse=True)
        total = np.bincount(inv, weights=weight)
        keep = self._active[uniq]
        if exclude is not None and exclude in self.rows:
            keep &= uniq != self.rows[exclude]
        uniq, total = uniq[keep], total[keep]
        if len(uniq) > self.config.rerank:
            top = np.argpartition(-total, self.config.rerank)[:self.config.rerank]
            uniq = uniq[top]
        rare = {field: rarity(int(max((c for kd, c in zip(kinds, counts.tolist(), strict=True) if kd == kind),
                                      default=1)))
                for field, kind in RARITY_KIND.items()}
        return self._rank((int(r) for r in uniq), d, k, rare)

    def derived(self, row: int) -> Derived:
        """The comparable form of a stored fingerprint (LRU-cached: popular candidates recur)."""
        d = self._derived.get(row)
        if d is None:
            d = self._derived[row] = Derived.of(self.fingerprints[row])
            if len(self._derived) > self.config.derived_cache:
                self._derived.popitem(last=False)
        else:
            self._derived.move_to_end(row)
        return d

    def _rank(self, rows: Iterable[int], d: Derived, k: int, rare: Mapping[str, float]) -> list[Match]:
        return rank(d, ((self.fingerprints[row], self.derived(row)) for row in rows), k, rare, self.weights)

    def brute_force(self, d: Derived, k: int = 5, exclude: str | None = None) -> list[Match]:
        """Reference: compare with every active fingerprint (no rarity discount). For tests and audits."""
        rows = [r for aid, r in self.rows.items() if aid != exclude]
        return self._rank(rows, d, k, {})

    # -- persistence (npz members; fingerprints as JSON) ---------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        doc = {"fingerprints": [fp.to_json() for fp in self.fingerprints],
               "active": [self.rows.get(fp.account_id) == i for i, fp in enumerate(self.fingerprints)]}
        return {"index_json": np.frombuffer(orjson.dumps(doc), dtype=np.uint8),
                **self.keys.to_arrays("index")}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], config: IndexConfig | None = None,
                    weights: EvidenceWeights | None = None) -> FingerprintIndex:
        idx = cls(config, weights)
        doc = orjson.loads(arrays["index_json"].tobytes())
        idx.fingerprints = [Fingerprint.from_json(o) for o in doc["fingerprints"]]
        idx._grow(len(idx.fingerprints))
        for row, (fp, active) in enumerate(zip(idx.fingerprints, doc["active"], strict=True)):
            if active:
                idx.rows[fp.account_id] = row
                idx._active[row] = True
        idx.keys = KeyIndex.from_arrays("index", arrays)
        return idx
