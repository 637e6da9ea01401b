"""Transactions on their own thread: the agent loop keeps scheduling while the last one commits.

The loop hands over, in order, what each turn produced: outcomes and state changes, each tagged
with the input partition it belongs to, and the positions (next offset to read) of **every**
partition it owns, moved or not. The committer runs one transaction at a time; everything handed
over while one was committing goes into the next, merged in order, so under load one commit covers
many turns (adaptive batching) and an idle agent commits each turn at once.

Every transaction is fenced (docs/decisions/0006-fencing-every-transaction.md): it sends the
positions of every owned partition with the latest consumer group metadata the loop handed over
(the consumer belongs to the loop's thread: librdkafka blocks a metadata read from another thread
while it polls), so the
group coordinator checks the member's generation (KIP-447) on every transaction, not only on those
that move an offset. A zombie's transaction (an agent paused past its session timeout) fails with
ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID and is aborted; a transaction with nothing owned to fence
it is never sent.

A failed transaction is aborted and tried again (with a short growing backoff, woken early when
the loop hands over fresh metadata, which it does on its next turn, or from ``flush`` while it
waits in a rebalance callback): with that metadata and only what the agent still owns, for
``discard(partitions)`` (on a revoke or a loss) drops the messages and positions of those
partitions from the queue and from the batch being retried. A fenced producer (a fatal error) is
renewed first. The committer never stops the agent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import TransactionalProducer, TransactionFailed

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]
Tagged = tuple[TopicPartitionKey, OutgoingMessage]  # (the input partition it belongs to, the message)
Offsets = Mapping[TopicPartitionKey, int]
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0
RENEW_AFTER_FAILURES = 3  # consecutive failures after which the producer is renewed even if not fatal


class TransactionCommitter:
    def __init__(
        self,
        producer: TransactionalProducer,
        on_commit: Callable[[int, int], None] | None = None,
        on_abort: Callable[[], None] | None = None,
        stuck_after_s: float | None = None,
    ) -> None:
        self.producer = producer
        # A try running longer than this is abandoned (librdkafka's send_offsets_to_transaction
        # can ignore its timeout after a coordinator moved: librdkafka issues 5456, 5511): a fresh
        # thread renews the producer, which fences the stuck one, and tries the batch again.
        self.stuck_after_s = stuck_after_s
        self.abandoned = 0
        self.on_commit = on_commit  # (messages, offsets) per transaction, for counters
        self.on_abort = on_abort  # a transaction failed (aborted or fenced): for counters
        self.failures = 0  # transactions aborted so far (each retried)
        self.discarded = 0  # messages dropped because their partition was no longer owned
        self._lock = threading.Condition()
        self._messages: list[Tagged] = []
        self._positions: dict[TopicPartitionKey, int] = {}  # every owned partition's position
        self._dirty = False  # something to commit: messages, or a position that moved
        self._retry: list[Tagged] | None = None  # the batch being committed, put back if it fails
        self._metadata: Any = None  # the group metadata last handed over (None: not a member)
        self._stale = False  # a try failed since the loop last handed over metadata
        self._busy = False
        self._closed = False
        self._generation = 0
        self._try_started: float | None = None
        self._thread = self._start_thread()

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, args=(self._generation,), name=f"committer-{self._generation}", daemon=True)
        thread.start()
        return thread

    def _abandon_if_stuck(self) -> None:
        """Under the lock, from the loop's calls: give up a try that has run too long."""
        if self.stuck_after_s is None or self._try_started is None or time.monotonic() - self._try_started < self.stuck_after_s:
            return
        log.error("a transaction has been committing for %.0fs (past %.0fs): abandoning it; a renewed producer tries again", time.monotonic() - self._try_started, self.stuck_after_s)
        self.abandoned += 1
        self._generation += 1
        self._messages = (self._retry or []) + self._messages
        self._retry = None
        self._try_started = None
        self._busy = False
        self._dirty = True
        self.producer.mark_for_renewal()
        self._thread = self._start_thread()

    @property
    def stale(self) -> bool:
        """The last try failed and no metadata came since: the loop should ``refresh``."""
        return self._stale

    def refresh(self, group_metadata: Any) -> None:
        """The group metadata of now (None: not a member now), for the next try."""
        with self._lock:
            self._metadata = group_metadata
            self._stale = False
            self._abandon_if_stuck()
            self._lock.notify_all()

    def submit(self, messages: Sequence[Tagged], positions: Offsets, group_metadata: Any) -> None:
        """This turn's messages, the positions of every partition the agent owns now, and the
        group metadata of now."""
        with self._lock:
            self._metadata = group_metadata
            self._stale = False
            self._messages.extend(messages)
            for tp, position in positions.items():
                if position > self._positions.get(tp, -1):
                    self._positions[tp] = position
                    self._dirty = True
            if messages:
                self._dirty = True
            self._abandon_if_stuck()
            self._lock.notify_all()

    def discard(self, partitions: Iterable[TopicPartitionKey]) -> int:
        """The agent no longer owns ``partitions``: drop what it handed over for them, queued or
        waiting for a retry. Returns the number of messages dropped. (A transaction in flight
        either commits while the agent still owned them, or is fenced and aborted.)"""
        gone = set(partitions)
        with self._lock:
            before = len(self._messages) + len(self._retry or [])
            self._messages = [m for m in self._messages if m[0] not in gone]
            if self._retry is not None:
                self._retry = [m for m in self._retry if m[0] not in gone]
            for tp in gone:
                self._positions.pop(tp, None)
            dropped = before - len(self._messages) - len(self._retry or [])
            self.discarded += dropped
            self._lock.notify_all()
        return dropped

    def flush(self, timeout_s: float = 120.0, group_metadata: Callable[[], Any] | None = None) -> None:
        """Block until everything handed over is committed (before a rebalance, at shutdown);
        TimeoutError when it is not within ``timeout_s`` (it keeps trying). ``group_metadata``
        (called on this thread) refreshes the metadata after a failed try."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._busy or self._dirty:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"transactions not committed within {timeout_s:g}s ({self.failures} aborted so far)")
                if self._stale and group_metadata is not None:
                    self._lock.release()
                    try:
                        metadata = group_metadata()
                    finally:
                        self._lock.acquire()
                    self._metadata, self._stale = metadata, False
                    self._lock.notify_all()
                self._lock.wait(min(left, 0.05))
                self._abandon_if_stuck()

    def check(self) -> None:
        """Kept for the loop's turn: the committer has no error to hand back (it retries)."""

    def close(self, timeout_s: float = 60.0) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout=timeout_s)

    def _loop(self, generation: int) -> None:
        consecutive = 0
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._closed or self._dirty or generation != self._generation)
                if generation != self._generation:
                    return  # abandoned
                if not self._dirty:
                    return  # closed and nothing left
                if consecutive and self._closed:
                    return  # closing while the broker refuses us: what is left is the next owner's
                self._retry, self._messages = self._messages, []
                self._dirty = False
                self._busy = True
                batch = self._retry
                positions = dict(self._positions)
                metadata = self._metadata
                self._try_started = time.monotonic()
            committed = self._try(batch, positions, metadata, consecutive, generation)
            with self._lock:
                if generation != self._generation:
                    return  # abandoned while it tried: its batch was handed to the next thread
                self._try_started = None
                if committed:
                    consecutive = 0
                    self._retry = None
                else:
                    consecutive += 1
                    self._messages = (self._retry or []) + self._messages  # first in, first out
                    self._retry = None
                    self._dirty = True
                    self._stale = True
                    # back off, waking early when the loop hands over fresh metadata
                    backoff = min(FIRST_BACKOFF_S * 2 ** (consecutive - 1), MAX_BACKOFF_S)
                    self._lock.wait_for(lambda: self._closed or not self._stale or generation != self._generation, backoff)
                self._busy = False
                self._lock.notify_all()

    def _try(self, batch: list[Tagged], positions: dict[TopicPartitionKey, int], metadata: Any, consecutive: int, generation: int = 0) -> bool:
        if batch and not positions:
            # nothing owned to fence the transaction with: these messages belong to no one here
            log.warning("dropping %d messages: none of their partitions is owned any more", len(batch))
            self.discarded += len(batch)
            return True
        if not batch and not positions:
            return True
        try:
            if self.producer.needs_renewal or consecutive >= RENEW_AFTER_FAILURES:
                log.warning("renewing the transactional producer after %d failed transactions", consecutive)
                self.producer.renew()
            if metadata is None:
                raise TransactionFailed("not a member of a group generation now (left, lost or rejoining)", code="NOT_A_MEMBER")
            self.producer.commit((m for _, m in batch), positions, metadata)
        except TransactionFailed as exc:
            if generation != self._generation:
                return False  # abandoned: the next thread has the batch and a renewed producer
            self._failed(exc, batch, positions, consecutive)
            if exc.fatal:
                try:
                    self.producer.renew()
                except Exception as renew_error:  # noqa: BLE001 - tried again on the next failure
                    log.warning("renewing the producer failed: %s", renew_error)
            return False
        except Exception as exc:  # noqa: BLE001 - anything else (renew failed, a bug in a message): retried
            self._failed(exc, batch, positions, consecutive)
            return False
        if self.on_commit is not None:
            self.on_commit(len(batch), len(positions))
        return True

    def _failed(self, exc: BaseException, batch: list[Tagged], positions: dict[TopicPartitionKey, int], consecutive: int) -> None:
        self.failures += 1
        if self.on_abort is not None:
            self.on_abort()
        code = getattr(exc, "code", None) or type(exc).__name__
        log.warning(
            "transaction of %d messages over %d owned partitions aborted (%s: %s); retry %d with the current "
            "group metadata and the partitions still owned",
            len(batch), len(positions), code, exc, consecutive + 1,
        )
