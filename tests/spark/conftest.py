"""One local Spark session (``local[2]``) for every Spark test, started on first use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bastion.spark import unavailable


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if (why := unavailable()) is not None:
        pytest.skip(why)
    from bastion.spark.job import session

    s = session("local[2]", "bastion-tests")
    yield s
    s.stop()
