"""Every record of the contract goes through the real broker and comes back equal.

Written by our transactional producer, read by our read_committed consumer, decoded by our
codec; an aborted transaction's events are never seen.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from media_stream.config import Settings
from media_stream.kafka.consumer import EventConsumer
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.kafka.producer import TransactionalProducer
from media_stream.serde.codec import EventCodec
from tests.helpers.samples import SAMPLES

pytestmark = pytest.mark.kafka


def drain(consumer: EventConsumer, count: int, timeout_s: float = 30.0) -> list[ConsumedMessage]:
    got: list[ConsumedMessage] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None:
            got.append(message)
    return got


def test_every_event_type_round_trips_through_kafka_and_aborted_ones_stay_invisible(
    kafka_bootstrap: str, unique_topic: Callable[..., str]
) -> None:
    topic = unique_topic("every-event", partitions=2)
    settings = Settings()
    codec = EventCodec.from_settings(settings)
    producer = TransactionalProducer(settings, f"every-event-{uuid.uuid4().hex[:8]}", kafka_bootstrap)

    with pytest.raises(RuntimeError, match="give up"):
        with producer.transaction():
            producer.send(OutgoingMessage(topic, b"aborted", codec.encode("ImageRequested", SAMPLES["ImageRequested"])))
            producer._producer.flush(10)  # the bytes reach the broker; only the abort hides them
            raise RuntimeError("give up")
    with producer.transaction():
        for name, value in sorted(SAMPLES.items()):
            producer.send(OutgoingMessage(topic, name.encode(), codec.encode(name, value), (("content-type", b"avro"),)))
    producer.close()

    consumer = EventConsumer(settings, f"readers-{topic}", [topic], kafka_bootstrap)
    try:
        messages = drain(consumer, len(SAMPLES))
        assert drain(consumer, 1, timeout_s=2.0) == []  # nothing more: the aborted event is not there
    finally:
        consumer.close()

    assert sorted(m.key for m in messages) == sorted(name.encode() for name in SAMPLES)
    for message in messages:
        decoded = codec.decode(message.value)
        assert decoded.record_name == message.key.decode()
        assert decoded.value == SAMPLES[decoded.record_name], decoded.record_name
        assert message.header("content-type") == b"avro"
