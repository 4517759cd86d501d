"""Group commit for verdicts: requests that arrive while the pipeline is busy are processed together.

The pipeline writes one transaction per batch; a transaction costs milliseconds whether it holds one post
or a hundred. So one worker thread owns the pipeline: each request hands its records over and waits for
its decisions; the worker takes everything queued at that moment (posts-only requests merge into one
batch, up to ``max_posts``) and runs it. Idle, a request is processed alone at once (no added wait); busy,
batches grow by themselves and throughput follows. Records keep their arrival order, and a merged batch is
what a file scan would have processed - the same detectors, policy, store and audit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from bastion.batch import Batch
from bastion.policy.model import Decision

log = logging.getLogger(__name__)

Process = Callable[[Batch], list[Decision]]


@dataclass(slots=True)
class _Item:
    batch: Batch
    future: Future[list[Decision]]

    @property
    def posts_only(self) -> bool:
        b = self.batch
        return bool(b.posts) and not (b.accounts or b.edges or b.reports or b.enforcement or b.quarantined)


class Batcher:
    def __init__(self, process: Process, *, max_posts: int = 512) -> None:
        self._process = process
        self.max_posts = max_posts
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._carry: _Item | None = None
        self._stopping = False
        self.batches = 0
        self.items = 0

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="bastion-verdicts", daemon=True)
                self._thread.start()

    def submit(self, batch: Batch) -> Future[list[Decision]]:
        self._ensure_started()
        fut: Future[list[Decision]] = Future()
        self._queue.put(_Item(batch, fut))
        return fut

    async def run(self, batch: Batch) -> list[Decision]:
        """Submit and wait without holding a worker thread of the server."""
        return await asyncio.wrap_future(self.submit(batch))

    def run_sync(self, batch: Batch) -> list[Decision]:
        return self.submit(batch).result()

    def close(self, timeout: float = 30.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    # -- the worker -------------------------------------------------------------------------------------
    def _next(self) -> list[_Item] | None:
        if self._carry is not None:
            first: _Item | None = self._carry
            self._carry = None
        elif self._stopping:
            return None
        else:
            first = self._queue.get()
        if first is None:
            return None
        group = [first]
        if not first.posts_only:
            return group
        posts = len(first.batch.posts)
        while posts < self.max_posts:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._stopping = True
                break
            if not nxt.posts_only:
                self._carry = nxt
                break
            group.append(nxt)
            posts += len(nxt.batch.posts)
        return group

    def _run(self) -> None:
        while True:
            group = self._next()
            if group is None:
                return
            merged = Batch(posts=[p for item in group for p in item.batch.posts]) if len(group) > 1 else None
            batch = merged or group[0].batch
            try:
                decisions = self._process(batch)
            except Exception as exc:  # every waiting request must hear about it
                log.error("verdict batch of %d records failed: %s", len(batch), type(exc).__name__)
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            self.batches += 1
            self.items += len(group)
            if len(group) == 1:
                group[0].future.set_result(decisions)
                continue
            by_post = {d.subject_id: d for d in decisions if d.subject_kind.value == "post"}
            for item in group:
                item.future.set_result([by_post[p.id] for p in item.batch.posts if p.id in by_post])
