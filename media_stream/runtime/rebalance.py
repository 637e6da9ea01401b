"""Partitions changing hands: what the agent restores on an assignment, commits and drops on a
revoke, and drops on a loss (the agent's rebalance callbacks, run inside its poll).

- Assigned: each changelog partition of the new partitions is read until its last stable
  offset reaches the high watermark seen now, so a transaction the previous owner left open is
  committed or aborted first (bounded, logged while it waits); then the tables are restored,
  the committed positions fetched (stable offsets, KIP-447) and handed to the ledger, so every
  transaction from now on carries them (ADR 0006). Only then are the partitions "assigned" and
  their messages taken.
- Revoked (a clean handover): what is finished is committed while the partitions are still ours,
  then everything else of theirs is dropped; the new owner redoes it.
- Lost (the group moved on without us): everything of theirs is dropped at once, nothing
  committed; the agent stays a member and librdkafka rejoins.
"""

from __future__ import annotations

import logging
from typing import Any

from media_stream.kafka.partition_reader import end_offsets, read_to_end
from media_stream.state.changelog import restore_tables

log = logging.getLogger(__name__)
REVOKE_FLUSH_S = 30.0  # how long a revoke waits for the finished work to commit before handing over


class PartitionHandover:
    """The rebalance half of ``runtime.agent.Agent`` (its state lives there)."""

    settings: Any
    bootstrap: str | None
    routes: Any
    consumer: Any
    committer: Any
    scheduler: Any
    ledger: Any
    tables: list[Any]
    characters: Any
    assigned: set[tuple[str, int]]
    pending: list[Any]
    paused: bool
    shutdown_deadline: float | None
    next_dedupe_sweep: float
    counters: dict[str, int]
    metrics: Any
    health: Any

    def _commit(self) -> None:  # the agent's: hand what is finished to the committer
        raise NotImplementedError

    def _time_left(self) -> float:  # the agent's: of shutdown_timeout_s, once stopping
        raise NotImplementedError

    def _on_assign(self, partitions: list[tuple[str, int]]) -> None:
        """Restore the state of the new partitions, having waited out the transactions their
        previous owner left open (each changelog is read until its last stable offset reaches the
        high watermark seen now), and fence every transaction from now on with their positions."""
        numbers = sorted(p for t, p in partitions if t == self.routes.requests)
        inputs = [(self.routes.requests, p) for p in numbers]
        wanted = [(table.topic, p) for table in self.tables for p in numbers]
        ends = end_offsets(self.settings, self.bootstrap, wanted + inputs)
        read = read_to_end(self.settings, self.bootstrap, wanted, timeout_s=self._restore_timeout_s(), until={tp: ends[tp][1] for tp in wanted})
        counts = restore_tables(self.tables, numbers, lambda topic, p: read[(topic, p)])
        try:
            committed = self.consumer.committed(inputs)
        except Exception as exc:  # noqa: BLE001 - librdkafka raises a bare KafkaError on a timeout
            # Not known now: those partitions carry a position from their first finished request
            # on; until then the other owned partitions' positions fence the transactions.
            log.warning("assigned %s: committed positions not known (%s); fencing with the other partitions until one moves", numbers, exc)
            committed = None
        for tp in inputs:
            if committed is None:
                continue
            position = committed.get(tp)
            self.ledger.start(tp, position if position is not None else ends[tp][0])
        self.assigned.update(partitions)
        log.info("assigned %s; restored %s", numbers, counts)
        self.next_dedupe_sweep = 0.0  # restored rows past the window are dropped next turn
        self.counters["assigned"] += 1  # after the restore: the agent is ready for these partitions
        self.metrics.rebalance("assign")
        self.health.partitions = self._request_partitions()
        self.health.in_group = True
        if self.paused:
            self.consumer.pause(partitions)

    def _restore_timeout_s(self) -> float:
        """Long enough for the coordinator to abort a transaction its owner abandoned."""
        return max(60.0, 2 * self.settings.worker.transaction_timeout_ms / 1000 + 10.0)

    def _on_revoke(self, partitions: list[tuple[str, int]]) -> None:
        """A clean handover: what is finished is committed while these partitions are still ours
        (the new owner waits for it), the rest is dropped and redone by the new owner."""
        self.counters["revoked"] += 1
        self.metrics.rebalance("revoke")
        self._commit()
        timeout = max(self._time_left(), 1.0) if self.shutdown_deadline is not None else REVOKE_FLUSH_S
        try:
            self.committer.flush(timeout, self.consumer.member_metadata)
        except TimeoutError as exc:
            log.warning("revoke of %s: %s; the rest is dropped, the next owner redoes it", sorted(p for _, p in partitions), exc)
        self._release(partitions, "revoked")

    def _on_lost(self, partitions: list[tuple[str, int]]) -> None:
        """The group moved on without us (a pause past the session timeout, a network cut):
        nothing of these partitions is ours to publish any more. Everything held for them is
        dropped; the agent stays a member (librdkafka rejoins) and restores what it gets next."""
        self.counters["lost"] += 1
        self.metrics.rebalance("lost")
        self.health.in_group = False
        self._release(partitions, "lost")

    def _release(self, partitions: list[tuple[str, int]], why: str) -> None:
        gone = set(partitions)
        numbers = sorted(p for t, p in gone if t == self.routes.requests)
        self.assigned.difference_update(gone)  # first: nothing of theirs is accepted or handed over now
        kept = [m for m in self.pending if m[0] not in gone]
        pending, self.pending = len(self.pending) - len(kept), kept
        queued = self.committer.discard(gone)
        dropped = self.scheduler.revoke(gone)
        self.ledger.forget(gone)
        for table in self.tables:
            table.forget(numbers)
        if self.characters is not None:
            self.characters.forget(numbers)
        self.counters["discarded"] += pending + queued
        self.health.partitions = self._request_partitions()
        for job in dropped:
            if job.span is not None:
                job.span.end(why)
        level = logging.WARNING if why == "lost" and (pending or queued or dropped) else logging.INFO
        log.log(level, "%s %s: dropped %d jobs, %d unpublished messages and %d queued for a transaction; their next owner redoes them", why, numbers, len(dropped), pending, queued)

    def _request_partitions(self) -> tuple[int, ...]:
        return tuple(sorted(p for t, p in self.assigned if t == self.routes.requests))
