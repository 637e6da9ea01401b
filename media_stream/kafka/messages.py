"""Plain values for messages in and out, so nothing above this package sees confluent_kafka."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConsumedMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_ms: int | None = None

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone (compacted topics)
    headers: tuple[tuple[str, bytes], ...] = field(default_factory=tuple)
    partition: int | None = None  # None: the partitioner picks from the key


@dataclass(frozen=True)
class LiveTopic:
    """A topic as the cluster reports it (``TopicAdmin.live_topics``)."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str]


def from_confluent(msg) -> ConsumedMessage:  # noqa: ANN001 - confluent_kafka.Message
    ts_type, ts = msg.timestamp()
    return ConsumedMessage(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        key=msg.key(),
        value=msg.value(),
        headers=tuple(msg.headers() or ()),
        timestamp_ms=ts if ts_type else None,
    )
