"""Read a topic's partitions between two times (offsets_for_times), outside any group."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from confluent_kafka import OFFSET_END, TopicPartition

from media_stream.config import Settings
from media_stream.kafka.consumer import groupless_consumer, watermarks
from media_stream.kafka.messages import ConsumedMessage, from_confluent


def scan(
    settings: Settings, bootstrap: str | None, topic: str, since_ms: int | None = None, until_ms: int | None = None, timeout_s: float = 30.0,
    partitions: Iterable[int] | None = None, from_offset: int | None = None, to_offset: int | None = None,
) -> Iterator[ConsumedMessage]:
    """Committed messages of ``topic`` with since_ms <= timestamp < until_ms, partition by partition,
    up to the end each partition had when the scan started. Optionally only the given
    ``partitions`` and only offsets from_offset <= offset <= to_offset (both inclusive)."""
    consumer = groupless_consumer(settings, bootstrap, "scan")
    try:
        live = sorted(consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions)
        wanted = set(live if partitions is None else partitions)
        partitions = [p for p in live if p in wanted]
        starts = consumer.offsets_for_times([TopicPartition(topic, p, since_ms or 0) for p in partitions], timeout=timeout_s)
        for start in starts:
            low, high = watermarks(consumer, topic, start.partition, timeout_s)
            first = low if start.offset in (-1, OFFSET_END) and since_ms is None else start.offset
            if from_offset is not None and first >= 0:
                first = max(first, from_offset)
            if to_offset is not None:
                high = min(high, to_offset + 1)
            if first < 0 or first >= high:
                continue
            consumer.assign([TopicPartition(topic, start.partition, first)])
            position = first
            while position < high:
                msg = consumer.poll(1.0)
                if msg is None or msg.error():
                    # transaction markers and aborted records are never returned: ask where we are
                    position = max(position, consumer.position([TopicPartition(topic, start.partition)])[0].offset)
                    continue
                position = msg.offset() + 1
                message = from_confluent(msg)
                if until_ms is not None and (message.timestamp_ms or 0) >= until_ms:
                    break
                yield message
    finally:
        consumer.close()
