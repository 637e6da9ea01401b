"""Producers: transactional for agents (outcomes + offsets in one transaction), idempotent for clients."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

from confluent_kafka import KafkaException, Producer, TopicPartition

from media_stream.config import Settings
from media_stream.kafka.config import client_config
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage


class EventProducer:
    """Idempotent producer (acks=all) for clients publishing requests."""

    def __init__(self, settings: Settings, bootstrap: str | None = None, **overrides: Any) -> None:
        conf = client_config(settings, bootstrap)
        conf.update({"enable.idempotence": True, "acks": "all", "linger.ms": 5})
        conf.update(overrides)
        self._producer = Producer(conf)
        self._failed: list[str] = []  # delivery reports with an error, since the last flush

    def send(self, message: OutgoingMessage) -> None:
        self._producer.produce(message.topic, on_delivery=self._delivered, **_produce_args(message))
        self._producer.poll(0)

    def _delivered(self, error: Any, _message: Any) -> None:
        if error is not None:  # e.g. message.timeout.ms passed while the broker refused us
            self._failed.append(str(error))

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait for every delivery report; KafkaException when one is missing or failed."""
        remaining = self._producer.flush(timeout_s)
        if remaining:
            raise KafkaException(f"{remaining} messages not delivered within {timeout_s}s")
        failed, self._failed = self._failed, []
        if failed:
            raise KafkaException(f"{len(failed)} messages not delivered: {'; '.join(dict.fromkeys(failed))}")

    def close(self, timeout_s: float = 30.0) -> None:
        """Deliver what is queued, then let librdkafka go (its threads end with the object)."""
        self.flush(timeout_s)
        del self._producer


class TransactionalProducer:
    """Publishes outcomes and commits consumed offsets atomically (KIP-447 fencing via group metadata)."""

    def __init__(self, settings: Settings, transactional_id: str, bootstrap: str | None = None, **overrides: Any) -> None:
        conf = client_config(settings, bootstrap)
        conf.update(
            {
                "transactional.id": transactional_id,
                "enable.idempotence": True,
                "linger.ms": 5,
                # Right after a commit the coordinator still writes its markers and answers the next
                # AddPartitionsToTxn with CONCURRENT_TRANSACTIONS; librdkafka retries after
                # retry.backoff.ms (100 ms by default), which made every transaction ~25 ms longer
                # (measured: 26 ms -> 5 ms for one message). Back off briefly, growing to 100 ms.
                "retry.backoff.ms": 5,
                "retry.backoff.max.ms": 100,
            }
        )
        conf.update(overrides)
        self._producer = Producer(conf)
        self._producer.init_transactions(30)

    def send(self, message: OutgoingMessage) -> None:
        self._producer.produce(message.topic, **_produce_args(message))

    @contextmanager
    def transaction(
        self,
        consumed: Iterable[ConsumedMessage] = (),
        group_metadata: Any = None,
        offsets: Mapping[tuple[str, int], int] | None = None,
    ) -> Iterator[None]:
        """Begin; run the body (sends); commit with the consumed offsets; abort on any error.

        ``consumed`` commits past those messages; ``offsets`` gives positions (next offset to
        read) per (topic, partition) directly.
        """
        self._producer.begin_transaction()
        try:
            yield
            positions = _next_offsets(consumed) + [TopicPartition(t, p, o) for (t, p), o in (offsets or {}).items()]
            if positions:
                self._producer.send_offsets_to_transaction(positions, group_metadata, 30)
            self._producer.commit_transaction(60)
        except BaseException:
            self._abort()
            raise

    def _abort(self) -> None:
        try:
            self._producer.abort_transaction(30)
        except KafkaException:
            pass  # a fatal error surfaces on the next call; the caller restarts the agent

    def close(self) -> None:
        self._producer.flush(10)


def _produce_args(message: OutgoingMessage) -> dict[str, Any]:
    args: dict[str, Any] = {"key": message.key, "value": message.value, "headers": list(message.headers)}
    if message.partition is not None:
        args["partition"] = message.partition
    return args


def _next_offsets(consumed: Iterable[ConsumedMessage]) -> list[TopicPartition]:
    highest: dict[tuple[str, int], int] = {}
    for msg in consumed:
        key = (msg.topic, msg.partition)
        highest[key] = max(highest.get(key, -1), msg.offset)
    return [TopicPartition(t, p, o + 1) for (t, p), o in highest.items()]
