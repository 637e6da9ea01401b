"""Read whole partitions from the beginning to their end (read_committed): state restoration.

One consumer, outside any group, assigned every requested partition at once; a partition is done
when the consumer reports its end (the last stable offset under read_committed) and, when
``until`` names an offset for it, its position has reached that offset: a restore passes the
high watermarks seen at assignment (``end_offsets``), so it waits until the transactions the
previous owner left open are committed or aborted, not only until the last stable offset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from media_stream.config import Settings
from media_stream.domain.errors import RetriableError
from media_stream.kafka.consumer import groupless_consumer, watermarks
from media_stream.kafka.messages import ConsumedMessage, from_confluent

log = logging.getLogger(__name__)
TopicPartitionKey = tuple[str, int]


def end_offsets(settings: Settings, bootstrap: str | None, partitions: Iterable[TopicPartitionKey], timeout_s: float = 30.0) -> dict[TopicPartitionKey, tuple[int, int]]:
    """(low watermark, high watermark) of each partition, read_uncommitted: the high watermark
    counts the records of transactions still open (a read_committed client is told the last
    stable offset instead)."""
    wanted = list(dict.fromkeys(partitions))
    if not wanted:
        return {}
    consumer = groupless_consumer(settings, bootstrap, "restore", **{"isolation.level": "read_uncommitted"})  # the restore's ACLs
    try:
        return {(t, p): watermarks(consumer, t, p, timeout_s) for t, p in wanted}
    finally:
        consumer.close()


def read_to_end(
    settings: Settings,
    bootstrap: str | None,
    partitions: Iterable[TopicPartitionKey],
    timeout_s: float = 60.0,
    start: Mapping[TopicPartitionKey, int] | None = None,
    until: Mapping[TopicPartitionKey, int] | None = None,
) -> dict[TopicPartitionKey, list[ConsumedMessage]]:
    """Each partition from ``start[tp]`` (default: its beginning) to its current end, and at
    least to ``until[tp]`` (its last stable offset has to reach it)."""
    wanted = list(dict.fromkeys(partitions))
    start = start or {}
    until = until or {}
    waiting_logged: set[TopicPartitionKey] = set()
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
                behind = {tp: until.get(tp) for tp in sorted(open_partitions)}
                raise RetriableError(f"state restore did not reach the end of {behind} in {timeout_s:g}s (a transaction still open there?)")
            msg = consumer.poll(0.5)
            if msg is None:
                if waiting_logged & open_partitions:  # an abort marker alone may bring no new end-of-partition event
                    for position in consumer.position([TopicPartition(t, p) for t, p in waiting_logged & open_partitions]):
                        if position.offset >= until[(position.topic, position.partition)]:
                            open_partitions.discard((position.topic, position.partition))
                continue
            tp = (msg.topic(), msg.partition())
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    stable = msg.offset()
                    if tp in until and stable < until[tp]:
                        if tp not in waiting_logged:
                            waiting_logged.add(tp)
                            log.info("restore of %s[%d] waits for a transaction left open by its previous owner: stable to %d, written to %d (up to %.0fs)", tp[0], tp[1], stable, until[tp], deadline - time.monotonic())
                        continue
                    if tp in waiting_logged:
                        log.info("restore of %s[%d]: the previous owner's transaction ended; stable to %d", tp[0], tp[1], stable)
                    open_partitions.discard(tp)
                    continue
                if msg.error().retriable():
                    continue
                raise RetriableError(f"state restore of {tp} failed: {msg.error().str()}")
            result[tp].append(from_confluent(msg))
    finally:
        consumer.close()
    return result
