"""Hashed character and word n-gram features, computed for a whole batch at once with numpy.

Why hand-rolled instead of scikit-learn's HashingVectorizer: the vectoriser tokenises each post in Python,
which caps scoring near two thousand posts a second. Here a batch of normalised posts becomes one array of
code points; a polynomial prefix hash gives the hash of every substring in O(1) (``(S[j]-S[i]) * P^-i``
modulo 2^64), so all character n-grams and all words of all posts are hashed with a handful of vector
operations. Scoring a linear model then needs no sparse matrix at all: it is one ``bincount`` of weights.

The feature vector of a post is the sum of three blocks, each scaled by 1/sqrt(its number of terms) so long
and short posts compare: character 2-5-grams of the normalised text (padded with spaces), word 1-2-grams,
and a few "style" indicator features (retweet marker, URL / mention / hashtag counts, script, length), all
hashed into ``2**n_bits`` columns. The same code builds the training matrix, so training and scoring agree
exactly.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from bastion.text.normalize import NormalizedText, normalize, skeleton

__all__ = ["FeatureConfig", "Featurizer", "HashedBatch"]

U64 = np.uint64
_P = 1099511628211  # odd, so invertible modulo 2**64
_P_INV = pow(_P, -1, 1 << 64)
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xBF58476D1CE4E5B9)
_K3 = np.uint64(0x94D049BB133111EB)
_SEP = 1  # code point separating posts in the joined buffer (never in normalised text)
_WORD_TAG = 101
_BIGRAM_TAG = 102

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Feature settings; persisted in the model file so scoring rebuilds exactly the training features."""

    n_bits: int = 21
    char_min: int = 2
    char_max: int = 5
    word_bigrams: bool = True
    style: bool = True
    hashtag_words: bool = True
    mention_handles: bool = False
    #: with ``mention_handles``: a reply's addressees are their own terms (``to@handle``), apart from handles
    #: retweeted or named in the text (``@handle``). Replying to an account is not endorsing it.
    mention_roles: bool = False
    url_domains: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(slots=True)
class Block:
    """One feature block: (document, column) pairs, each weighted by its document's ``scale``."""

    doc: IntArray
    col: IntArray
    scale: FloatArray  # per document: 1/sqrt(number of terms of this block)


@dataclass(slots=True)
class HashedBatch:
    """Features of a batch, block by block; duplicate (document, column) pairs add up."""

    n_docs: int
    blocks: list[Block]

    def matrix(self, n_cols: int) -> sparse.csr_matrix:
        if not self.blocks:
            return sparse.csr_matrix((self.n_docs, n_cols), dtype=np.float32)
        doc = np.concatenate([b.doc for b in self.blocks])
        col = np.concatenate([b.col for b in self.blocks])
        val = np.concatenate([b.scale[b.doc] for b in self.blocks]).astype(np.float32)
        m = sparse.csr_matrix((val, (doc, col)), shape=(self.n_docs, n_cols), dtype=np.float32)
        m.sum_duplicates()
        return m

    def scores(self, weights: FloatArray) -> npt.NDArray[np.float64]:
        """``X @ weights`` without building X: one weighted bincount per block."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        for b in self.blocks:
            out += np.bincount(b.doc, weights=weights[b.col], minlength=self.n_docs) * b.scale
        return out


@lru_cache(maxsize=1)
def _word_table() -> npt.NDArray[np.bool_]:
    """Which code points belong to words: letters, digits and marks of the BMP, plus ``_ # @``."""
    table = np.zeros(0x110000, dtype=np.bool_)
    table[:0x10000] = [chr(c).isalnum() or chr(c) in "_#@" for c in range(0x10000)]
    # combining marks continue a word (NFKC leaves some in Indic scripts)
    table[0x0300:0x0370] = True
    return table


@lru_cache(maxsize=1)
def _powers_cache() -> dict[str, npt.NDArray[np.uint64]]:
    return {}


def _powers(n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    cache = _powers_cache()
    have = cache.get("pw")
    if have is None or len(have) < n:
        size = max(n, 1 << 16)
        size = 1 << (size - 1).bit_length()
        with np.errstate(over="ignore"):
            pw = np.empty(size, dtype=U64)
            pw[0] = 1
            pw[1:] = np.cumprod(np.full(size - 1, _P, dtype=U64), dtype=U64)
            ipw = np.empty(size, dtype=U64)
            ipw[0] = 1
            ipw[1:] = np.cumprod(np.full(size - 1, _P_INV, dtype=U64), dtype=U64)
        cache["pw"], cache["ipw"] = pw, ipw
    return cache["pw"][:n], cache["ipw"][:n]


def _mix(h: npt.NDArray[np.uint64], tag: int, shift: int) -> IntArray:
    """Fold a 64-bit polynomial hash and a feature-kind tag into a column (multiplicative hashing)."""
    with np.errstate(over="ignore"):
        t = np.uint64((tag * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        h = (h ^ t) * _K2
        h ^= h >> np.uint64(29)
        h *= _K3
    return (h >> np.uint64(shift)).astype(np.int64)


@lru_cache(maxsize=65536)
def _handle(name: str) -> str:
    return "@" + skeleton(name)


_HOST = re.compile(r"^(?:[a-z]+://)?(?:www\.)?([^/?#:\s]+)", re.I)


def _host(url: str) -> str:
    """The host of a URL (``justpaste.it``, ``t.co``), dots as underscores so it stays one word."""
    m = _HOST.match(url)
    return (m.group(1).lower() if m else "none").replace(".", "_").replace("-", "_")


@lru_cache(maxsize=1)
def _char_classes() -> npt.NDArray[np.uint8]:
    """Per BMP code point: bit 1 letter, bit 2 upper-case, bit 4 Arabic letter."""
    table = np.zeros(0x10000, dtype=np.uint8)
    for c in range(0x10000):
        ch = chr(c)
        if ch.isalpha():
            table[c] = 1 | (2 if ch.isupper() else 0) | (4 if 0x600 <= c <= 0x6FF or c >= 0xFB50 else 0)
    return table


def _style_columns(norms: Sequence[NormalizedText], n_bits: int) -> tuple[IntArray, IntArray]:
    """Style indicators of every post as (document, column) pairs, computed for the whole batch in numpy:
    URL / mention / hashtag counts, length, share of Arabic and of upper-case letters (bucketed), retweet
    marker, truncation ellipsis, line breaks."""
    n_docs = len(norms)
    originals = [n.original for n in norms]
    buf = np.frombuffer("".join(originals).encode("utf-32-le"), dtype=np.uint32)
    lengths = np.fromiter((len(o) for o in originals), dtype=np.int64, count=n_docs)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    cls = _char_classes()[np.minimum(buf, 0xFFFF)]
    letters = np.bincount(doc_of, weights=(cls & 1), minlength=n_docs)
    upper = np.bincount(doc_of, weights=(cls & 2) >> 1, minlength=n_docs)
    arabic = np.bincount(doc_of, weights=(cls & 4) >> 2, minlength=n_docs)
    newlines = np.bincount(doc_of, weights=(buf == 10), minlength=n_docs)
    denom = np.maximum(letters, 1)
    families: dict[str, npt.NDArray[np.int64]] = {
        "url": np.minimum(np.fromiter((len(n.urls) for n in norms), np.int64, n_docs), 3),
        "men": np.minimum(np.fromiter((len(n.mentions) for n in norms), np.int64, n_docs), 3),
        "tag": np.minimum(np.fromiter((len(n.hashtags) for n in norms), np.int64, n_docs), 4),
        "len": np.minimum(lengths // 40, 7),
        "ar": np.minimum(4 * arabic // denom, 3).astype(np.int64),
        "up": np.minimum(8 * upper // denom, 4).astype(np.int64),
    }
    docs = np.arange(n_docs, dtype=np.int64)
    d_parts: list[IntArray] = []
    c_parts: list[IntArray] = []
    for fam, bucket in families.items():
        table = np.array([_token_col(f"{fam}:{v}", n_bits) for v in range(int(bucket.max(initial=0)) + 1)],
                         dtype=np.int64)
        d_parts.append(docs)
        c_parts.append(table[bucket])
    flags = {
        "rt": np.fromiter((n.is_retweet for n in norms), np.bool_, n_docs),
        "trunc": np.fromiter((o.endswith(("…", "...")) for o in originals), np.bool_, n_docs),
        "nl": newlines > 0,
    }
    for name, flag in flags.items():
        hit = np.flatnonzero(flag)
        d_parts.append(hit)
        c_parts.append(np.full(len(hit), _token_col(name, n_bits), dtype=np.int64))
    return np.concatenate(d_parts), np.concatenate(c_parts)


@lru_cache(maxsize=4096)
def _token_col(token: str, n_bits: int) -> int:
    return zlib.crc32(b"style:" + token.encode()) & ((1 << n_bits) - 1)


class Featurizer:
    """Turns raw post texts into hashed features (see the module docstring)."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        self.n_cols = 1 << self.config.n_bits
        self._shift = 64 - self.config.n_bits
        self._table = _word_table()

    def model_text(self, n: NormalizedText) -> str:
        """The string the n-grams are taken from: the normalised text, plus segmented multi-word hashtags
        and (optionally) the mentioned handles, after a ``|`` so they form no bigrams with the text."""
        extra: list[str] = []
        if self.config.hashtag_words and n.hashtag_words:
            extra.extend(w for w in n.hashtag_words if " " in w)
        if self.config.mention_handles and n.mentions:
            k = n.reply_to if self.config.mention_roles else 0
            extra.extend("to" + _handle(m) for m in n.mentions[:k])
            extra.extend(_handle(m) for m in n.mentions[k:])
        if self.config.url_domains and n.urls:
            extra.extend("urlhost_" + _host(u) for u in n.urls)
        return n.text + " | " + " ".join(extra) if extra else n.text

    def transform(self, texts: Sequence[str]) -> HashedBatch:
        return self.transform_normalized([normalize(t) for t in texts])

    def transform_normalized(self, norms: Sequence[NormalizedText]) -> HashedBatch:
        cfg = self.config
        n_docs = len(norms)
        # Each post is preceded by char_max-1 separators and padded with spaces, so every n-gram (n <=
        # char_max) that starts inside a post's region holds only that post's characters and separators:
        # no masking is needed, and a post's features never depend on its neighbours in the batch.
        lead = "\x01" * max(cfg.char_max - 1, 1)
        texts = [self.model_text(n).replace("\x01", " ") for n in norms]
        joined = "".join(f"{lead} {t} " for t in texts) + lead
        buf = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        size = len(buf)
        region = np.fromiter((len(t) + 2 + len(lead) for t in texts), dtype=np.int64, count=n_docs)
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), region)
        doc_of = np.concatenate((doc_of, np.full(len(lead), max(n_docs - 1, 0), dtype=np.int64)))
        pw, ipw = _powers(size + 1)
        with np.errstate(over="ignore"):
            prefix = np.zeros(size + 1, dtype=U64)
            np.cumsum(buf.astype(U64) * pw[:size], out=prefix[1:])
        blocks: list[Block] = []

        def block(d: IntArray, c: IntArray, counts: npt.NDArray[Any] | None = None) -> Block:
            if counts is None:
                counts = np.bincount(d, minlength=n_docs)
            scale = (1.0 / np.sqrt(np.maximum(counts, 1))).astype(np.float32)
            return Block(d, c, scale)

        # character n-grams: n-grams starting in the trailing separators belong to no post
        total = size - len(lead)
        cd: list[IntArray] = []
        cc: list[IntArray] = []
        n_sizes = 0
        for n in range(cfg.char_min, cfg.char_max + 1):
            with np.errstate(over="ignore"):
                h = (prefix[n:n + total] - prefix[:total]) * ipw[:total]
            cd.append(doc_of[:total])
            cc.append(_mix(h, n, self._shift))
            n_sizes += 1
        if n_docs and n_sizes:
            blocks.append(block(np.concatenate(cd), np.concatenate(cc), region * n_sizes))

        # words and word bigrams
        is_word = self._table[buf]
        prev = np.concatenate(([False], is_word[:-1]))
        nxt = np.concatenate((is_word[1:], [False]))
        starts = np.flatnonzero(is_word & ~prev)
        ends = np.flatnonzero(is_word & ~nxt) + 1
        if len(starts):
            with np.errstate(over="ignore"):
                wh = (prefix[ends] - prefix[starts]) * ipw[starts]
            wdoc = doc_of[starts]
            wd = [wdoc]
            wc = [_mix(wh, _WORD_TAG, self._shift)]
            if cfg.word_bigrams and len(starts) > 1:
                same = wdoc[1:] == wdoc[:-1]
                with np.errstate(over="ignore"):
                    bh = wh[:-1][same] * _K3 + wh[1:][same]
                wd.append(wdoc[:-1][same])
                wc.append(_mix(bh, _BIGRAM_TAG, self._shift))
            blocks.append(block(np.concatenate(wd), np.concatenate(wc)))

        if cfg.style and n_docs:
            blocks.append(block(*_style_columns(norms, cfg.n_bits)))
        return HashedBatch(n_docs, blocks)
