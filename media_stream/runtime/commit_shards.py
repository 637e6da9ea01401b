"""Commits in parallel: one committer (and transactional producer) per shard of input partitions.

A transaction's commit waits for the coordinator to write its markers to every partition it
touched, and the producer's next transaction waits for those markers. With one producer for
all of an agent's partitions, every request waited for one commit touching ~30 partitions, and
requests queued behind it. Here each input partition belongs to one of up to N shards; each
shard has its own ``TransactionCommitter`` and producer, so the shards' transactions run side by side, each
touching only its partitions' outputs (``AgentRoutes.place`` writes a request's outcomes at the
request's partition number). Order holds: a key lives in one input partition, so in one shard,
and each shard commits first in, first out.

Fencing is unchanged: each shard's transactions send the positions of every partition of that
shard the agent owns, with the group metadata of that moment (KIP-447), so each is fenced on its
own; ``discard`` reaches every shard (docs/decisions/0007-sharded-commits.md).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

TopicPartitionKey = tuple[str, int]


class Committer(Protocol):
    """What ``TransactionCommitter`` offers the loop (runtime/committer.py)."""

    failures: int
    discarded: int

    @property
    def stale(self) -> bool: ...
    def refresh(self, group_metadata: Any) -> None: ...
    def submit(self, messages: Sequence[Any], positions: Mapping[TopicPartitionKey, int], group_metadata: Any) -> None: ...
    def discard(self, partitions: Iterable[TopicPartitionKey]) -> int: ...
    def flush(self, timeout_s: float = ..., group_metadata: Callable[[], Any] | None = ...) -> None: ...
    def check(self) -> None: ...
    def close(self, timeout_s: float = ...) -> None: ...


class ShardedCommitter:
    """The committer interface over up to ``max_shards`` shards, made on demand by
    ``new_shard(index)``; messages come tagged (input partition, message).

    An input partition is given a shard the first time it is seen (a new shard while fewer than
    ``max_shards`` exist, else the one with the fewest partitions) and keeps it while owned:
    ``discard`` (a revoke or a loss) forgets it. So an agent that owns three partitions runs
    three producers, and a partition's messages always go through one shard, in order."""

    def __init__(self, new_shard: Callable[[int], Committer], max_shards: int) -> None:
        if max_shards < 1:
            raise ValueError(f"max_shards must be at least 1, got {max_shards}")
        self.new_shard = new_shard
        self.max_shards = max_shards
        self.shards: list[Committer] = []
        self._shard_of: dict[int, int] = {}  # input partition number -> shard index

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.shards)

    @property
    def discarded(self) -> int:
        return sum(s.discarded for s in self.shards)

    def shard_of(self, partition: int) -> int:
        index = self._shard_of.get(partition)
        if index is None:
            if len(self.shards) < self.max_shards:
                self.shards.append(self.new_shard(len(self.shards)))
                index = len(self.shards) - 1
            else:
                load = Counter(self._shard_of.values())
                index = min(range(len(self.shards)), key=lambda i: (load[i], i))
            self._shard_of[partition] = index
        return index

    @property
    def stale(self) -> bool:
        """A shard's last try failed and it waits for the group metadata of now."""
        return any(s.stale for s in self.shards)

    def refresh(self, group_metadata: Any) -> None:
        for shard in self.shards:
            if shard.stale:
                shard.refresh(group_metadata)

    def submit(self, messages: Sequence[tuple[TopicPartitionKey, Any]], positions: Mapping[TopicPartitionKey, int], group_metadata: Any) -> None:
        """Each shard gets its partitions' messages (in order) and positions with the group
        metadata of now; a shard with neither is not disturbed, unless it waits for metadata."""
        split_messages: dict[int, list[tuple[TopicPartitionKey, Any]]] = {}
        split_positions: dict[int, dict[TopicPartitionKey, int]] = {}
        for tagged in messages:
            split_messages.setdefault(self.shard_of(tagged[0][1]), []).append(tagged)
        for tp, position in positions.items():
            split_positions.setdefault(self.shard_of(tp[1]), {})[tp] = position
        touched = split_messages.keys() | split_positions.keys()
        for index, shard in enumerate(self.shards):
            if index in touched:
                shard.submit(split_messages.get(index, []), split_positions.get(index, {}), group_metadata)
            elif shard.stale:
                shard.refresh(group_metadata)

    def discard(self, partitions: Iterable[TopicPartitionKey]) -> int:
        """Drop what every shard holds for ``partitions``; they may get another shard later."""
        gone = list(partitions)
        dropped = sum(shard.discard(gone) for shard in self.shards)
        for _, partition in gone:
            self._shard_of.pop(partition, None)
        return dropped

    def flush(self, timeout_s: float = 120.0, group_metadata: Callable[[], Any] | None = None) -> None:
        """Every shard committed what it was handed (they commit in parallel: one deadline)."""
        deadline = time.monotonic() + timeout_s
        for shard in self.shards:
            shard.flush(max(deadline - time.monotonic(), 0.001), group_metadata)

    def check(self) -> None:
        for shard in self.shards:
            shard.check()

    def close(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        for shard in self.shards:
            shard.close(max(deadline - time.monotonic(), 0.001))
