"""The one thread that talks to the GPU: batches in, results out, while the Kafka loop keeps polling.

The agent's main thread owns the consumer and the producer (neither is shared); it hands batches
to this thread and collects what comes back, so a render of minutes never delays a poll.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

Batch = Sequence[Any]
RenderFn = Callable[[Batch], list[Any]]


class RenderThread:
    def __init__(self, render: RenderFn, depth: int = 2) -> None:
        self._render = render
        self._inbox: queue.Queue[Batch | None] = queue.Queue()
        self._outbox: queue.Queue[tuple[Batch, list[Any]]] = queue.Queue()
        self._in_flight = 0
        self.depth = depth  # batches handed over and not yet collected: one rendering, one waiting
        self._thread = threading.Thread(target=self._loop, name="render", daemon=True)
        self._thread.start()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def has_room(self) -> bool:
        return self._in_flight < self.depth

    def submit(self, batch: Batch) -> None:
        self._in_flight += 1
        self._inbox.put(batch)

    def collect(self, timeout_s: float = 0.0) -> list[tuple[Batch, list[Any]]]:
        """Finished batches with their results; waits up to ``timeout_s`` for the first one."""
        done = []
        try:
            done.append(self._outbox.get(timeout=timeout_s) if timeout_s > 0 else self._outbox.get_nowait())
            while True:
                done.append(self._outbox.get_nowait())
        except queue.Empty:
            pass
        self._in_flight -= len(done)
        return done

    def stop(self) -> None:
        self._inbox.put(None)
        self._thread.join(timeout=600)

    def _loop(self) -> None:
        while True:
            batch = self._inbox.get()
            if batch is None:
                return
            try:
                results = self._render(batch)
            except BaseException as exc:  # noqa: BLE001 - every job of the batch gets the error as its outcome
                log.exception("render of a batch of %d failed", len(batch))
                results = [exc] * len(batch)
            self._outbox.put((batch, results))
