"""The committer against the real broker: a transaction left open past ``transaction.timeout.ms``
(a zombie paused that long) gets its producer fenced; the committer renews the producer and
commits the batch again, fenced by the group generation, instead of stopping the agent (on main
the error was raised into the loop and the agent died)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from media_stream.config import Settings
from media_stream.kafka.consumer import EventConsumer
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import TransactionalProducer
from media_stream.runtime.committer import TransactionCommitter

pytestmark = pytest.mark.kafka


def test_a_producer_fenced_by_the_transaction_timeout_is_renewed_and_the_batch_committed(settings: Settings, unique_topic: Callable[..., str], kafka_bootstrap: str) -> None:
    source, out = unique_topic("requests", partitions=1), unique_topic("ready")
    group = f"committer-{uuid.uuid4().hex[:8]}"
    assigned: list[tuple[str, int]] = []
    member = EventConsumer(settings, group, [source], kafka_bootstrap, on_assign=assigned.extend)
    deadline = time.monotonic() + 60
    while not assigned and time.monotonic() < deadline:
        member.consume(1, 0.2)
    assert assigned == [(source, 0)]
    producer = TransactionalProducer(settings, f"committer-test-{uuid.uuid4().hex[:8]}", kafka_bootstrap, **{"transaction.timeout.ms": 2000})
    send, stalled = producer.send, [True]

    def stalling_send(message: OutgoingMessage) -> None:
        send(message)
        if stalled[0]:  # the first transaction stalls past its timeout: the broker aborts it and bumps the epoch
            stalled[0] = False
            producer._producer.flush(10)
            watcher = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"watch-{uuid.uuid4().hex[:6]}", "isolation.level": "read_committed"})
            deadline = time.monotonic() + 60  # the coordinator's timeout sweep runs every 10 s by default
            while watcher.get_watermark_offsets(TopicPartition(out, 0), timeout=10)[1] < 2 and time.monotonic() < deadline:
                time.sleep(0.2)  # until the abort marker is written (last stable offset past record and marker)
            watcher.close()

    producer.send = stalling_send  # type: ignore[method-assign]
    committer = TransactionCommitter(producer)
    committer.submit([((source, 0), OutgoingMessage(out, b"k", b"scene-1"))], {(source, 0): 1}, member.member_metadata())
    committer.flush(60, member.member_metadata)
    committer.close()
    assert committer.failures >= 1
    reader = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:6]}", "isolation.level": "read_committed", "enable.partition.eof": True})
    reader.assign([TopicPartition(out, 0, 0)])
    values = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = reader.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            break  # the end of the partition
        values.append(msg.value())
    reader.close()
    committed = member.committed([(source, 0)])
    member.close()
    assert values == [b"scene-1"]  # once: the first try was aborted with its producer's epoch
    assert committed == {(source, 0): 1}
