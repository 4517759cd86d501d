"""``per_key``: each key's rows once, all of them, in order, however Arrow cuts a partition into batches."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bastion.spark import unavailable
from bastion.spark.grouped import per_key

needs_spark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


@needs_spark
def test_each_key_is_seen_once_whole_and_in_order_across_batches(spark: Any) -> None:
    def _seen(pdf: Any) -> list[dict[str, Any]]:  # (nested: the workers get it by value)
        return [{"key": str(pdf["key"].iloc[0]), "n": len(pdf), "order": ",".join(str(v) for v in pdf["t"])}]

    rng = random.Random(7)
    rows = [(f"k{rng.randrange(40)}", rng.randrange(10_000), i) for i in range(600)]
    df = spark.createDataFrame(rng.sample(rows, len(rows)), "key string, t long, i long")
    before = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "7")  # keys run across batches
    try:
        got = {r["key"]: (r["n"], r["order"]) for r in
               per_key(df, "key", ["t", "i"], _seen, "key string, n long, order string").collect()}
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", before)
    want: dict[str, list[tuple[int, int]]] = {}
    for key, t, i in rows:
        want.setdefault(key, []).append((t, i))
    assert got == {k: (len(v), ",".join(str(t) for t, _ in sorted(v))) for k, v in want.items()}
