"""Producers: transactional for agents (outcomes + offsets in one transaction), idempotent for clients."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

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


class TransactionFailed(Exception):
    """A transaction did not commit and was aborted (or could not even be aborted).

    ``fatal``: the producer cannot go on (fenced epoch, a fatal librdkafka error) and must be
    ``renew()``-ed before the next transaction; ``code``: librdkafka's error name, when known
    (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, _FENCED, PRODUCER_FENCED, INVALID_PRODUCER_EPOCH...)."""

    def __init__(self, reason: str, fatal: bool = False, code: str | None = None) -> None:
        super().__init__(reason)
        self.fatal = fatal
        self.code = code


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
        self._conf = conf
        self._broken = False  # an abort failed fatally: renew() before the next transaction
        self._producer = Producer(conf)
        self._producer.init_transactions(30)

    @property
    def needs_renewal(self) -> bool:
        return self._broken

    def mark_for_renewal(self) -> None:
        """The next transaction renews the producer first (a stuck call was abandoned)."""
        self._broken = True

    def renew(self) -> None:
        """A fresh producer with the same transactional.id: ``init_transactions`` bumps the epoch,
        which fences the old instance and aborts whatever transaction it left open."""
        old = self._producer
        try:
            old.purge(in_queue=True, in_flight=True, blocking=False)
        except (KafkaException, RuntimeError):
            pass
        producer = Producer(self._conf)
        producer.init_transactions(30)
        self._producer = producer
        self._broken = False
        del old

    def commit(
        self,
        messages: Iterable[OutgoingMessage],
        offsets: Mapping[tuple[str, int], int],
        group_metadata: Any,
    ) -> None:
        """One transaction: the messages, then the offsets with the group metadata (the broker
        checks the metadata's generation against the group's: KIP-447 fencing), then commit.
        Any failure aborts it and raises ``TransactionFailed`` (``fatal`` when the producer must
        be renewed first)."""
        try:
            with self.transaction(group_metadata=group_metadata, offsets=offsets):
                for message in messages:
                    self.send(message)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError):
                fatal = error.fatal() or self._broken
                raise TransactionFailed(error.str(), fatal=fatal, code=error.name()) from exc
            raise TransactionFailed(str(exc), fatal=self._broken) from exc
        except BufferError as exc:  # the local queue is full: abortable, the next try waits
            raise TransactionFailed(f"producer queue full: {exc}", fatal=self._broken) from exc

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
        producer = self._producer  # this transaction's, even if renew() replaces it meanwhile
        producer.begin_transaction()
        try:
            yield
            positions = _next_offsets(consumed) + [TopicPartition(t, p, o) for (t, p), o in (offsets or {}).items()]
            if positions:
                # The records reach the broker before the generation check: a transaction that
                # passes it has its records in the log before a new generation (and a new owner's
                # restore, which reads to the high watermark) exists.
                if producer.flush(30):
                    raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "records not delivered within 30s"))
                producer.send_offsets_to_transaction(positions, group_metadata, 30)
            producer.commit_transaction(60)
        except BaseException:
            self._abort(producer)
            raise

    def _abort(self, producer: Producer) -> None:
        if producer is not self._producer:
            return  # renewed meanwhile: the new one's init_transactions fenced and aborted it
        try:
            producer.abort_transaction(30)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            # not abortable (fatal, or no transaction state to abort): the next try starts afresh
            if not isinstance(error, KafkaError) or error.fatal() or not error.retriable():
                self._broken = True

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
