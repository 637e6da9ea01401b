"""Transactions on their own thread: the agent loop keeps scheduling while the last one commits.

The loop hands over, in order, what each turn produced (outcomes, state changes, offsets). The
committer runs one transaction at a time; everything handed over while one was committing goes
into the next, merged in order, so under load one commit covers many turns (adaptive batching)
and an idle agent commits each turn at once. Order is kept: batches are merged and committed
first in, first out. A commit that fails is raised in the loop on its next hand-over or flush,
and the agent stops: its work restarts from the last committed transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import TransactionalProducer

Offsets = Mapping[tuple[str, int], int]


class TransactionCommitter:
    def __init__(
        self,
        producer: TransactionalProducer,
        on_commit: Callable[[int, int], None] | None = None,
        on_abort: Callable[[], None] | None = None,
    ) -> None:
        self.producer = producer
        self.on_commit = on_commit  # (messages, offsets) per transaction, for counters
        self.on_abort = on_abort  # a transaction failed (aborted or fenced): for counters
        self._lock = threading.Condition()
        self._messages: list[OutgoingMessage] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self._group_metadata: Any = None
        self._busy = False
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="committer", daemon=True)
        self._thread.start()

    def submit(self, messages: list[OutgoingMessage], offsets: Offsets, group_metadata: Any) -> None:
        with self._lock:
            self._raise_error()
            self._messages.extend(messages)
            for tp, position in offsets.items():
                self._offsets[tp] = max(position, self._offsets.get(tp, -1))
            self._group_metadata = group_metadata
            self._lock.notify_all()

    def flush(self, timeout_s: float = 120.0) -> None:
        """Block until everything handed over is committed (before a rebalance, at shutdown)."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._error is not None or not (self._busy or self._messages or self._offsets), timeout_s):
                raise TimeoutError(f"transactions not committed within {timeout_s:g}s")
            self._raise_error()

    def check(self) -> None:
        with self._lock:
            self._raise_error()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout=60)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._closed or self._messages or self._offsets)
                if not (self._messages or self._offsets):
                    return  # closed and nothing left
                messages, self._messages = self._messages, []
                offsets, self._offsets = self._offsets, {}
                metadata = self._group_metadata
                self._busy = True
            try:
                with self.producer.transaction(offsets=offsets, group_metadata=metadata):
                    for message in messages:
                        self.producer.send(message)
                if self.on_commit is not None:
                    self.on_commit(len(messages), len(offsets))
            except BaseException as exc:  # noqa: BLE001 - handed to the loop, which stops the agent
                if self.on_abort is not None:
                    self.on_abort()
                with self._lock:
                    self._error = exc
                    self._busy = False
                    self._lock.notify_all()
                return
            with self._lock:
                self._busy = False
                self._lock.notify_all()
