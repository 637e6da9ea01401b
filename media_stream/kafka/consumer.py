"""A read_committed consumer with manual commits and cooperative rebalancing."""

from __future__ import annotations

from typing import Any, Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from media_stream.config import Settings
from media_stream.kafka.config import client_config
from media_stream.kafka.messages import ConsumedMessage, from_confluent


def consumer_config(settings: Settings, group_id: str, bootstrap: str | None = None, **overrides: Any) -> dict[str, Any]:
    conf = client_config(settings, bootstrap)
    conf.update(
        {
            "group.id": group_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "max.poll.interval.ms": 300_000,
            "session.timeout.ms": 45_000,
        }
    )
    conf.update(overrides)
    return conf


class EventConsumer:
    """Thin wrapper: subscribe, poll into ConsumedMessage values, expose group metadata."""

    def __init__(self, settings: Settings, group_id: str, topics: Iterable[str], bootstrap: str | None = None, **overrides: Any) -> None:
        self._consumer = Consumer(consumer_config(settings, group_id, bootstrap, **overrides))
        self._consumer.subscribe(list(topics))

    def poll(self, timeout_s: float) -> ConsumedMessage | None:
        msg = self._consumer.poll(timeout_s)
        if msg is None:
            return None
        if msg.error():
            err = msg.error()
            if err.code() == KafkaError._PARTITION_EOF:
                return None
            if err.fatal() or not err.retriable():
                raise KafkaException(err)
            return None
        return from_confluent(msg)

    def position_after(self, message: ConsumedMessage) -> TopicPartition:
        return TopicPartition(message.topic, message.partition, message.offset + 1)

    def group_metadata(self):  # noqa: ANN201 - opaque confluent object
        return self._consumer.consumer_group_metadata()

    def assignment(self) -> list[tuple[str, int]]:
        return [(tp.topic, tp.partition) for tp in self._consumer.assignment()]

    def close(self) -> None:
        self._consumer.close()
