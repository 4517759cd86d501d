"""The detector interface's shared views of a post's text."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.detector import BatchedView, PostContext, share_view
from bastion.records import Post

CALLS: list[list[str]] = []


def _upper_many(texts: Sequence[str]) -> list[str]:
    CALLS.append(list(texts))
    return [t.upper() for t in texts]


def _upper(text: str) -> str:
    return _upper_many([text])[0]


upper = BatchedView(_upper, _upper_many)


def _ctx(i: int, text: str) -> PostContext:
    return PostContext(Post(id=f"p{i}", account_id="a1", text=text))


def test_a_batched_view_is_computed_in_one_call_for_the_posts_that_lack_it() -> None:
    batch = [_ctx(i, t) for i, t in enumerate(["one", "two", "three"])]
    batch[1].views[upper] = "KEPT"  # computed earlier (by a worker, or another detector)
    CALLS.clear()
    share_view(batch, upper)
    assert CALLS == [["one", "three"]]
    assert [c.view(upper) for c in batch] == ["ONE", "KEPT", "THREE"]
    share_view(batch, upper)  # nothing left to compute
    assert CALLS == [["one", "three"]]


def test_a_plain_view_is_computed_post_by_post() -> None:
    batch = [_ctx(i, t) for i, t in enumerate(["ab", "c"])]
    share_view(batch, len)
    assert [c.views[len] for c in batch] == [2, 1]


def test_a_batched_view_is_named_after_its_module_attribute() -> None:
    assert upper.__name__ == "upper" and upper("x") == "X"
    assert "test_detector_interface.upper" in repr(upper)
