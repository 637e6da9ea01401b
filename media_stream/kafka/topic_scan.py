"""Read a topic's partitions between two times (offsets_for_times), outside any group."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from media_stream.config import Settings
from media_stream.kafka.config import client_config
from media_stream.kafka.messages import ConsumedMessage, from_confluent


def scan(
    settings: Settings, bootstrap: str | None, topic: str, since_ms: int | None = None, until_ms: int | None = None, timeout_s: float = 30.0
) -> Iterator[ConsumedMessage]:
    """Committed messages of ``topic`` with since_ms <= timestamp < until_ms, partition by partition,
    up to the end each partition had when the scan started."""
    conf = client_config(settings, bootstrap)
    conf.update({"group.id": f"media-stream-scan-{uuid.uuid4().hex[:12]}", "enable.auto.commit": False, "isolation.level": "read_committed"})
    consumer = Consumer(conf)
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions)
        starts = consumer.offsets_for_times([TopicPartition(topic, p, since_ms or 0) for p in partitions], timeout=timeout_s)
        for start in starts:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, start.partition), timeout=timeout_s)
            first = low if start.offset in (-1, OFFSET_END) and since_ms is None else start.offset
            if first < 0 or first >= high:
                continue
            consumer.assign([TopicPartition(topic, start.partition, first)])
            position = first
            while position < high:
                msg = consumer.poll(1.0)
                if msg is None or msg.error():
                    continue
                position = msg.offset() + 1
                message = from_confluent(msg)
                if until_ms is not None and (message.timestamp_ms or 0) >= until_ms:
                    break
                yield message
    finally:
        consumer.close()
