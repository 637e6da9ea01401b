"""Commits in parallel: one committer (and transactional producer) per shard of input partitions.

A transaction's commit waits for the coordinator to write its markers to every partition it
touched, and the producer's next transaction waits for those markers. With one producer for
all of an agent's partitions, every request waited for one commit touching ~30 partitions, and
requests queued behind it. Here input partition p belongs to shard p % N; each shard has its own
``TransactionCommitter`` and producer, so the shards' transactions run side by side, each
touching only its partitions' outputs (``AgentRoutes.place`` writes a request's outcomes at the
request's partition number). Order holds: a key lives in one input partition, so in one shard,
and each shard commits first in, first out.

Fencing is unchanged: each shard's transactions send the positions of every partition of that
shard the agent owns, with the group metadata of that moment (KIP-447), so each is fenced on its
own; ``discard`` reaches every shard (docs/decisions/0007-sharded-commits.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

TopicPartitionKey = tuple[str, int]


class Committer(Protocol):
    failures: int
    discarded: int

    def submit(self, messages: Sequence[Any], positions: Mapping[TopicPartitionKey, int]) -> None: ...
    def discard(self, partitions: Iterable[TopicPartitionKey]) -> int: ...
    def flush(self, timeout_s: float = ...) -> None: ...
    def check(self) -> None: ...
    def close(self, timeout_s: float = ...) -> None: ...


def shard_of(partition: int, shards: int) -> int:
    """The shard that commits input partition ``partition`` (the one rule, used everywhere)."""
    return partition % shards


class ShardedCommitter:
    """The committer interface over N shards; messages come tagged (input partition, message)."""

    def __init__(self, shards: Sequence[Committer]) -> None:
        if not shards:
            raise ValueError("at least one shard")
        self.shards = list(shards)

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.shards)

    @property
    def discarded(self) -> int:
        return sum(s.discarded for s in self.shards)

    def submit(self, messages: Sequence[tuple[TopicPartitionKey, Any]], positions: Mapping[TopicPartitionKey, int]) -> None:
        """Each shard gets its partitions' messages (in order) and positions; a shard with
        neither is not disturbed."""
        n = len(self.shards)
        if n == 1:
            self.shards[0].submit(messages, positions)
            return
        split_messages: list[list[tuple[TopicPartitionKey, Any]]] = [[] for _ in range(n)]
        split_positions: list[dict[TopicPartitionKey, int]] = [{} for _ in range(n)]
        for tagged in messages:
            split_messages[shard_of(tagged[0][1], n)].append(tagged)
        for tp, position in positions.items():
            split_positions[shard_of(tp[1], n)][tp] = position
        for shard, shard_messages, shard_positions in zip(self.shards, split_messages, split_positions):
            if shard_messages or shard_positions:
                shard.submit(shard_messages, shard_positions)

    def discard(self, partitions: Iterable[TopicPartitionKey]) -> int:
        gone = list(partitions)
        return sum(shard.discard(gone) for shard in self.shards)

    def flush(self, timeout_s: float = 120.0) -> None:
        """Every shard committed what it was handed (they commit in parallel: one deadline)."""
        deadline = time.monotonic() + timeout_s
        for shard in self.shards:
            shard.flush(max(deadline - time.monotonic(), 0.001))

    def check(self) -> None:
        for shard in self.shards:
            shard.check()

    def close(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        for shard in self.shards:
            shard.close(max(deadline - time.monotonic(), 0.001))
