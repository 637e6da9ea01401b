"""A table kept in memory, backed by a compacted changelog topic, written in the agent's transaction.

Each changelog partition holds the state of the requests partition with the same number (the
topics are co-partitioned), so the agent that is assigned requests partition p restores
changelog partition p, and writes its changes to p explicitly. Writes are Kafka messages handed
to the agent's transaction: a state change is committed together with the outcomes and the
offsets it belongs to, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from media_stream.domain.records import from_record, to_record
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.serde.codec import EventCodec

V = TypeVar("V")


@dataclass(frozen=True)
class TableSpec(Generic[V]):
    topic: str
    value_type: type[V]


class ChangelogTable(Generic[V]):
    def __init__(self, spec: TableSpec[V], codec: EventCodec) -> None:
        self.spec = spec
        self.codec = codec
        self._rows: dict[int, dict[str, V]] = {}

    @property
    def topic(self) -> str:
        return self.spec.topic

    def get(self, partition: int, key: str) -> V | None:
        return self._rows.get(partition, {}).get(key)

    def values(self, partition: int | None = None) -> list[V]:
        partitions = [partition] if partition is not None else list(self._rows)
        return [v for p in partitions for v in self._rows.get(p, {}).values()]

    def put(self, partition: int, key: str, value: V) -> OutgoingMessage:
        """Change the row now; return the changelog message for the current transaction."""
        self._rows.setdefault(partition, {})[key] = value
        encoded = self.codec.encode(self.spec.value_type.__name__, to_record(value))
        return OutgoingMessage(self.topic, key.encode(), encoded, partition=partition)

    def delete(self, partition: int, key: str) -> OutgoingMessage:
        """Remove the row; the tombstone lets compaction drop it."""
        self._rows.get(partition, {}).pop(key, None)
        return OutgoingMessage(self.topic, key.encode(), None, partition=partition)

    def expire(self, expired: Callable[[V], bool]) -> list[OutgoingMessage]:
        """Drop the oldest rows for which ``expired(row)`` holds, with a tombstone each.

        Rows sit in the order they were written (and restored), which is their age order, so each
        partition is swept from its oldest row and the sweep stops at the first row still live:
        the cost is the number of rows dropped, not the size of the table."""
        tombstones: list[OutgoingMessage] = []
        for partition, rows in self._rows.items():
            for key in list(_leading(rows, expired)):
                tombstones.append(self.delete(partition, key))
        return tombstones

    def restore(self, partition: int, messages: Iterable[ConsumedMessage]) -> int:
        """Rebuild partition ``partition`` from its changelog (oldest first); returns rows kept."""
        rows: dict[str, V] = {}
        for message in messages:
            key = (message.key or b"").decode()
            if message.value is None:
                rows.pop(key, None)
                continue
            decoded = self.codec.decode(message.value)
            rows[key] = from_record(self.spec.value_type, decoded.value)
        self._rows[partition] = rows
        return len(rows)

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._rows.pop(partition, None)


def _leading(rows: dict[str, V], expired: Callable[[V], bool]) -> Iterable[str]:
    for key, value in rows.items():
        if not expired(value):
            return
        yield key


Reader = Callable[[str, int], Iterable[ConsumedMessage]]


def restore_tables(tables: Iterable[ChangelogTable[Any]], partitions: Iterable[int], read: Reader) -> dict[str, int]:
    """Restore every table for every partition with ``read(topic, partition)``; rows per topic."""
    counts: dict[str, int] = {}
    partitions = list(partitions)
    for table in tables:
        counts[table.topic] = sum(table.restore(p, read(table.topic, p)) for p in partitions)
    return counts
