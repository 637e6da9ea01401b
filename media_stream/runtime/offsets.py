"""Which offsets may be committed: per partition, everything below the lowest unfinished one.

Requests of different projects finish out of offset order (project B's quick image may finish
while project A's storyboard still renders). The committed position of a partition therefore
stops at the lowest offset still in flight; work finished above it is remembered by the dedupe
state (written in the same transaction as its outcome), so it is skipped, not redone, when the
partition is read again after a crash or a rebalance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

TopicPartitionKey = tuple[str, int]


@dataclass
class PartitionOffsets:
    """Offsets of one partition taken into work and not yet committed, in consumption order."""

    pending: dict[int, bool] = field(default_factory=dict)  # offset → finished; insertion order = offset order
    committed: int | None = None  # the last position handed to a transaction

    def add(self, offset: int) -> None:
        self.pending.setdefault(offset, False)

    def finish(self, offset: int) -> None:
        if offset in self.pending:
            self.pending[offset] = True

    def unfinished(self) -> int:
        return sum(1 for done in self.pending.values() if not done)

    def advance(self) -> int | None:
        """The new commit position (next offset to read) if it moved, dropping what it covers."""
        position = None
        for offset in list(self.pending):
            if not self.pending[offset]:
                break
            del self.pending[offset]
            position = offset + 1
        if position is None or position == self.committed:
            return None
        self.committed = position
        return position


class OffsetLedger:
    """Offsets in work for every assigned partition."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartitionKey, PartitionOffsets] = {}

    def start(self, tp: TopicPartitionKey, position: int) -> None:
        """A partition assigned at ``position`` (its committed offset, or its low watermark when
        nothing was committed): from now on every transaction carries its position."""
        partition = self._partitions.setdefault(tp, PartitionOffsets())
        if partition.committed is None:
            partition.committed = position

    def add(self, tp: TopicPartitionKey, offset: int) -> None:
        self._partitions.setdefault(tp, PartitionOffsets()).add(offset)

    def finish(self, tp: TopicPartitionKey, offset: int) -> None:
        partition = self._partitions.get(tp)
        if partition is not None:
            partition.finish(offset)

    def advance(self) -> dict[TopicPartitionKey, int]:
        """Positions that moved since the last call: what the next transaction commits."""
        moved = {}
        for tp, partition in self._partitions.items():
            position = partition.advance()
            if position is not None:
                moved[tp] = position
        return moved

    def positions(self) -> dict[TopicPartitionKey, int]:
        """The commit position of every partition known, moved or not: each transaction sends
        them all, so the broker checks the group generation on every one (KIP-447)."""
        return {tp: p.committed for tp, p in self._partitions.items() if p.committed is not None}

    def unfinished(self, tp: TopicPartitionKey | None = None) -> int:
        if tp is not None:
            partition = self._partitions.get(tp)
            return partition.unfinished() if partition else 0
        return sum(p.unfinished() for p in self._partitions.values())

    def forget(self, tps: Iterable[TopicPartitionKey]) -> None:
        """Partitions revoked: their uncommitted work belongs to the next owner now."""
        for tp in tps:
            self._partitions.pop(tp, None)
