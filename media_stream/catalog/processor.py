"""The catalog processor (`media-stream catalog run`): a consumer group that folds every
ImageReady and AudioReady into the compacted assets topic, exactly once.

Each batch of consumed outcomes becomes its catalog entries and the consumed offsets in ONE
Kafka transaction with the group's metadata (KIP-447), as the agents do: a crash or a rebalance
never loses an outcome nor writes an entry from an uncommitted one. The fold is a pure function
of the outcome, so even a replayed batch would write the same entry under the same key.

An outcome that cannot be folded (bytes that do not decode, a record that does not fit its type)
becomes a DeadLetter on the assets_dlq topic, with its bytes and the reason, in the same
transaction as the offsets: never lost, never blocking the partition. Records of other types on
an outcome topic are passed over.

``metrics`` (CatalogMetrics) and ``health`` (CatalogHealth) are what `catalog run` serves on
``observability.port``: entries, dead letters, transactions, lag per partition, rebalances;
live while the loop turns, ready while it is a member of its group (even an idle one).
"""

from __future__ import annotations

import logging
import threading
import uuid

from media_stream.catalog.fold import catalog_entry, entry_key
from media_stream.catalog.health import CatalogHealth
from media_stream.catalog.metrics import CatalogMetrics
from media_stream.catalog.topics import CatalogTopics
from media_stream.config import Settings
from media_stream.domain.assets import AssetCataloged
from media_stream.domain.errors import PermanentError, UndecodableMessage
from media_stream.domain.outcomes import AudioReady, ImageReady
from media_stream.domain.records import from_record
from media_stream.kafka.consumer import EventConsumer
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.kafka.producer import TransactionalProducer
from media_stream.observability.tracing import child_traceparent
from media_stream.serde.codec import EventCodec
from media_stream.serde.dead_letters import dead_letter
from media_stream.serde.decoding import best_effort_ids
from media_stream.serde.encoding import EventEncoder

log = logging.getLogger(__name__)
FOLDED = {"ImageReady": ImageReady, "AudioReady": AudioReady}


class CatalogProcessor:
    def __init__(
        self,
        settings: Settings,
        topics: CatalogTopics,
        bootstrap: str | None = None,
        group_id: str | None = None,
        metrics: CatalogMetrics | None = None,
        health: CatalogHealth | None = None,
    ) -> None:
        obs = settings.observability
        self.settings = settings
        self.metrics = metrics or CatalogMetrics(sample_interval_s=obs.sample_interval_s)
        self.health = health or CatalogHealth(obs.live_within_s)
        self.topics = topics
        self.encoder = EventEncoder(EventCodec.from_settings(settings))
        self.group_id = group_id or settings.catalog.group_id
        self.stopping = threading.Event()
        self.folded = 0
        self.dead_lettered = 0
        self.consumer = EventConsumer(
            settings, self.group_id, topics.outcomes, bootstrap,
            on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._lost,
            **{"max.poll.interval.ms": settings.worker.max_poll_interval_ms},
        )  # fmt: skip
        self.producer = TransactionalProducer(
            settings, f"{self.group_id}-{uuid.uuid4().hex[:12]}", bootstrap,
            **{"transaction.timeout.ms": settings.worker.transaction_timeout_ms},
        )  # fmt: skip

    def fold(self, message: ConsumedMessage) -> AssetCataloged | None:
        """The catalog entry of one consumed message; None for a record that is not an asset
        outcome; PermanentError for one that cannot be folded."""
        decoded = self.encoder.codec.decode(message.value or b"")
        cls = FOLDED.get(decoded.record_name)
        if cls is None:
            return None
        try:
            return catalog_entry(from_record(cls, decoded.value))
        except (TypeError, KeyError, ValueError) as exc:
            raise UndecodableMessage(f"{decoded.record_name} does not fit its domain type: {exc}") from exc

    def outgoing(self, messages: list[ConsumedMessage]) -> tuple[list[OutgoingMessage], list[OutgoingMessage]]:
        """The catalog entries of a batch and the dead letters of what could not be folded."""
        entries: list[OutgoingMessage] = []
        letters: list[OutgoingMessage] = []
        for message in messages:
            if message.value is None:
                continue
            trace = child_traceparent(message.header("traceparent"))
            try:
                entry = self.fold(message)
            except PermanentError as exc:
                log.warning("catalog: dead-lettering %s/%d/%d: %s", message.topic, message.partition, message.offset, exc)
                letter = dead_letter(message, exc, best_effort_ids(self.encoder.codec, message))
                letters.append(self.encoder.message(self.topics.assets_dlq, letter.key, letter, trace))
                continue
            if entry is not None:
                entries.append(self.encoder.message(self.topics.assets, entry_key(entry), entry, trace))
        return entries, letters

    def step(self) -> int:
        """Poll one batch; commit its entries and dead letters with its offsets; returns the entries written."""
        messages = self.consumer.consume(self.settings.catalog.max_batch, self.settings.catalog.poll_timeout_s)
        if not messages:
            return 0
        entries, letters = self.outgoing(messages)
        try:
            with self.producer.transaction(consumed=messages, group_metadata=self.consumer.group_metadata()):
                for message in entries + letters:
                    self.producer.send(message)
        except BaseException:
            self.metrics.aborted()
            raise
        self.metrics.committed(len(entries), len(letters))
        self.folded += len(entries)
        self.dead_lettered += len(letters)
        return len(entries)

    def run(self) -> None:
        """Until ``stopping`` is set (SIGTERM in the CLI): fold, commit, repeat; then leave the group."""
        self.health.phase = "running"
        try:
            while not self.stopping.is_set():
                self.turned()
                self.step()
        finally:
            self.health.phase = "stopping"
            try:
                self.close()
            finally:
                self.health.phase = "stopped"

    def turned(self) -> None:
        """One loop turn: liveness, and (at most every sample interval) the lag of what it holds."""
        self.health.loop_turned()
        if self.metrics.sample_due():
            self.metrics.set_lag(self.consumer.lag(self.consumer.assignment()))

    # ---- rebalance callbacks (inside the consumer's poll, on the loop thread) -------------------

    def _assigned(self, partitions: list[tuple[str, int]]) -> None:
        self.metrics.rebalance("assign")
        self.health.assigned(partitions)

    def _revoked(self, partitions: list[tuple[str, int]]) -> None:
        self.metrics.rebalance("revoke")
        self.health.revoked(partitions)

    def _lost(self, partitions: list[tuple[str, int]]) -> None:
        self.metrics.rebalance("lost")
        self.health.lost(partitions)

    def close(self) -> None:
        self.producer.close()
        self.consumer.close()
