"""Read whole partitions from the beginning to their end (read_committed): state restoration.

One consumer, outside any group, assigned every requested partition at once; a partition is done
when the consumer reports its end (the last stable offset under read_committed).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from media_stream.config import Settings
from media_stream.domain.errors import RetriableError
from media_stream.kafka.consumer import groupless_consumer
from media_stream.kafka.messages import ConsumedMessage, from_confluent

TopicPartitionKey = tuple[str, int]


def read_to_end(
    settings: Settings,
    bootstrap: str | None,
    partitions: Iterable[TopicPartitionKey],
    timeout_s: float = 60.0,
    start: Mapping[TopicPartitionKey, int] | None = None,
) -> dict[TopicPartitionKey, list[ConsumedMessage]]:
    """Each partition from ``start[tp]`` (default: its beginning) to its current end."""
    wanted = list(dict.fromkeys(partitions))
    start = start or {}
    result: dict[TopicPartitionKey, list[ConsumedMessage]] = {tp: [] for tp in wanted}
    if not wanted:
        return result
    consumer = groupless_consumer(settings, bootstrap, "restore", **{"enable.partition.eof": True})
    try:
        consumer.assign([TopicPartition(t, p, start.get((t, p), OFFSET_BEGINNING)) for t, p in wanted])
        open_partitions = set(wanted)
        deadline = time.monotonic() + timeout_s
        while open_partitions:
            if time.monotonic() > deadline:
                raise RetriableError(f"state restore did not reach the end of {sorted(open_partitions)} in {timeout_s:g}s")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            tp = (msg.topic(), msg.partition())
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard(tp)
                    continue
                if msg.error().retriable():
                    continue
                raise RetriableError(f"state restore of {tp} failed: {msg.error().str()}")
            result[tp].append(from_confluent(msg))
    finally:
        consumer.close()
    return result
