"""Follow topics from known positions, outside any consumer group (read_committed).

The SDK snapshots the end of the outcome topics *before* it publishes a request, then reads
from there: the job's outcomes cannot be missed, and nothing older is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from confluent_kafka import Consumer, KafkaError, TopicPartition

from media_stream.config import Settings
from media_stream.domain.errors import RetriableError
from media_stream.kafka.consumer import groupless_consumer, watermarks
from media_stream.kafka.messages import ConsumedMessage, from_confluent

Positions = dict[tuple[str, int], int]
TIMEOUT_S = 30.0


def _consumer(settings: Settings, bootstrap: str | None) -> Consumer:
    return groupless_consumer(settings, bootstrap, "follow")


def _partitions(consumer: Consumer, topic: str, timeout_s: float) -> list[int]:
    described = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if described is None or described.error is not None:
        raise RetriableError(f"topic {topic} is not available: {getattr(described, 'error', 'unknown topic')}")
    return sorted(described.partitions)


def end_positions(settings: Settings, bootstrap: str | None, topics: Iterable[str], timeout_s: float = TIMEOUT_S) -> Positions:
    """The current end (high watermark) of every partition of ``topics``."""
    consumer = _consumer(settings, bootstrap)
    try:
        ends: Positions = {}
        for topic in topics:
            for partition in _partitions(consumer, topic, timeout_s):
                _, high = watermarks(consumer, topic, partition, timeout_s)
                ends[(topic, partition)] = high
        return ends
    finally:
        consumer.close()


class TopicFollower:
    """Reads every partition of ``topics`` from ``start`` (missing partitions: from the end, or
    from the beginning with ``from_beginning``); ``poll`` returns one message or None."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str | None,
        topics: Iterable[str],
        start: Mapping[tuple[str, int], int] | None = None,
        from_beginning: bool = False,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self._consumer = _consumer(settings, bootstrap)
        start = dict(start or {})
        assignment = []
        for topic in topics:
            for partition in _partitions(self._consumer, topic, timeout_s):
                if (topic, partition) in start:
                    offset = start[(topic, partition)]
                else:
                    low, high = watermarks(self._consumer, topic, partition, timeout_s)
                    offset = low if from_beginning else high
                assignment.append(TopicPartition(topic, partition, offset))
        self._consumer.assign(assignment)

    def poll(self, timeout_s: float) -> ConsumedMessage | None:
        msg = self._consumer.poll(timeout_s)
        if msg is None:
            return None
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                return None
            if msg.error().retriable():
                return None
            raise RetriableError(f"Kafka read failed: {msg.error().str()}")
        return from_confluent(msg)

    def close(self) -> None:
        self._consumer.close()


def positions_at(settings: Settings, bootstrap: str | None, topics: Iterable[str], timestamp_ms: int, timeout_s: float = TIMEOUT_S) -> Positions:
    """Per partition of ``topics``, the first offset whose timestamp is at or after
    ``timestamp_ms`` (the end where there is none): where to start reading "since then"."""
    consumer = _consumer(settings, bootstrap)
    try:
        asked = [TopicPartition(topic, partition, max(0, int(timestamp_ms))) for topic in topics for partition in _partitions(consumer, topic, timeout_s)]
        found: Positions = {}
        for tp in consumer.offsets_for_times(asked, timeout=timeout_s) if asked else []:
            if tp.offset < 0:  # nothing that late: start at the end
                _, high = watermarks(consumer, tp.topic, tp.partition, timeout_s)
                found[(tp.topic, tp.partition)] = high
            else:
                found[(tp.topic, tp.partition)] = tp.offset
        return found
    finally:
        consumer.close()
