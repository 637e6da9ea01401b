"""The one thread that talks to the GPU: batches in, results out, while the Kafka loop keeps polling.

The agent's main thread owns the consumer and the producer (neither is shared); it hands batches
to this thread and collects what comes back, so a render of minutes never delays a poll.

A batch still rendering after ``deadline_s`` is given up when the loop next collects: its jobs
get ``RenderDeadlineExceeded`` (retriable: the agent's retry policy decides) as their result, the
stuck thread is left behind (a daemon; what it returns, if it ever does, is discarded) and a fresh
thread takes the batches that were waiting. ``abandoned()``, asked from a render thread, turns
true on the thread that was given up and on no other, so a renderer that checks its cancel hook
between steps (SDXL does) stops and frees the accelerator, while the same jobs rendered again on
the fresh thread are not stopped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from media_stream.runtime.render_faults import RenderDeadlineExceeded

log = logging.getLogger(__name__)

Batch = Sequence[Any]
RenderFn = Callable[[Batch], list[Any]]


class RenderThread:
    def __init__(self, render: RenderFn, depth: int = 2, deadline_s: float | None = None) -> None:
        self._render = render
        self._outbox: queue.Queue[tuple[Batch, list[Any]]] = queue.Queue()
        self._in_flight = 0
        self.depth = depth  # batches handed over and not yet collected: one rendering, one waiting
        self.deadline_s = deadline_s
        self.given_up = 0  # batches given up at the deadline
        self._lock = threading.Lock()
        self._generation = 0
        self._current: tuple[Batch, float] | None = None  # the batch rendering now, since when
        self._local = threading.local()  # each render thread's generation
        self._inbox: queue.Queue[Batch | None] = queue.Queue()
        self._thread = self._start_thread()

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
        done = self._overdue()
        try:
            done.append(self._outbox.get(timeout=timeout_s) if timeout_s > 0 and not done else self._outbox.get_nowait())
            while True:
                done.append(self._outbox.get_nowait())
        except queue.Empty:
            pass
        self._in_flight -= len(done)
        return done

    def abandoned(self) -> bool:
        """Asked from a render thread: it was given up (its batch ran past the deadline), so its
        render should stop at the next chance. False on any other thread."""
        generation = getattr(self._local, "generation", None)
        return generation is not None and generation != self._generation

    def stop(self, timeout_s: float = 600.0) -> bool:
        """Let the render thread finish what it holds, waiting at most ``timeout_s``; False when
        it is still rendering then (a daemon: it is left behind, its results discarded)."""
        self._inbox.put(None)
        self._thread.join(timeout=max(timeout_s, 0.0))
        if self._thread.is_alive():
            with self._lock:
                self._generation += 1  # whatever it returns now is discarded
            return False
        return True

    def _overdue(self) -> list[tuple[Batch, list[Any]]]:
        if not self.deadline_s:
            return []
        with self._lock:
            if self._current is None or time.monotonic() - self._current[1] < self.deadline_s:
                return []
            batch, started = self._current
            self._current = None
            self._generation += 1  # the stuck thread's result, if any, is discarded
            waiting, self._inbox = self._inbox, queue.Queue()
            while True:
                try:
                    item = waiting.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    self._inbox.put(item)
            self._thread = self._start_thread()
        self.given_up += 1
        elapsed = time.monotonic() - started
        log.error("a batch of %d has rendered for %.1fs, past the %.1fs deadline: its steps fail (retried under the retry policy), a fresh render thread takes over", len(batch), elapsed, self.deadline_s)
        error = RenderDeadlineExceeded(f"still rendering after {elapsed:.1f}s (worker.render_deadline_s={self.deadline_s:g})")
        return [(batch, [error] * len(batch))]

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, args=(self._generation, self._inbox), name=f"render-{self._generation}", daemon=True)
        thread.start()
        return thread

    def _loop(self, generation: int, inbox: queue.Queue[Batch | None]) -> None:
        self._local.generation = generation
        while True:
            batch = inbox.get()
            if batch is None:
                return
            with self._lock:
                if generation != self._generation:
                    return
                self._current = (batch, time.monotonic())
            try:
                results = self._render(batch)
            except BaseException as exc:  # noqa: BLE001 - every job of the batch gets the error as its outcome
                log.exception("render of a batch of %d failed", len(batch))
                results = [exc] * len(batch)
            with self._lock:
                if generation != self._generation:
                    return  # given up at the deadline: its jobs already failed
                self._current = None
                self._outbox.put((batch, results))
