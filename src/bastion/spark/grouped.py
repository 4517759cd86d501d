"""A function over each key's rows, many keys to a Python call.

``groupBy(key).applyInPandas(fn)`` sends every key to Python as its own Arrow batch and DataFrame: a few
milliseconds a key, which over 50,000 accounts is minutes of overhead around microseconds of work.
:func:`per_key` computes the same thing from one shuffle: rows hash-partitioned by the key and sorted within
each partition by the key and then ``order``; each Arrow batch is cut where the key changes, and a key whose
rows run on into the next batch is carried over, so ``fn`` sees each key's rows once, all of them, in ``order``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from typing import Any

from bastion.spark import columns

#: ``fn``: one key's rows (a DataFrame slice, sorted by ``order``) -> its output rows
KeyFunction = Callable[[Any], Sequence[dict[str, Any]]]


def per_key(df: Any, key: str, order: Sequence[str], fn: KeyFunction, schema: str) -> Any:
    """``fn`` over each ``key``'s rows of ``df`` in ``order``; its rows as a DataFrame of ``schema``."""
    return df.repartition(key).sortWithinPartitions(key, *order).mapInPandas(_cut(key, fn, columns(schema)),
                                                                              schema)


def _cut(key: str, fn: KeyFunction, names: list[str]) -> Callable[[Iterator[Any]], Iterator[Any]]:
    def run(frames: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pandas as pd

        carry = None
        for pdf in frames:
            if carry is not None:
                pdf = pd.concat([carry, pdf], ignore_index=True)
            if pdf.empty:
                continue
            keys = pdf[key].to_numpy()
            starts = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist()]
            rows: list[dict[str, Any]] = []
            for a, b in pairwise(starts):
                rows.extend(fn(pdf.iloc[a:b]))
            carry = pdf.iloc[starts[-1]:]  # the last key may go on in the next batch
            if rows:
                yield pd.DataFrame(rows, columns=names)
        if carry is not None and not carry.empty:
            yield pd.DataFrame(list(fn(carry)), columns=names)

    return run
