"""Topic administration on confluent-kafka's AdminClient: read live topics, create, grow, alter.

Thin by intent: what to change, and when a live value equals a declared one, is decided in
``media_stream.topics``; this module only talks to the cluster and turns its errors into ours.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from media_stream.config import Settings
from media_stream.domain.errors import ConfigurationError, RetriableError
from media_stream.kafka.config import client_config
from media_stream.kafka.messages import LiveTopic

TIMEOUT_S = 30.0


class TopicLayout(Protocol):
    """What creating a topic needs (``topics.spec.TopicSpec`` is one)."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str]


class TopicAdmin:
    def __init__(self, settings: Settings, bootstrap: str | None = None) -> None:
        self.client = AdminClient({**client_config(settings, bootstrap), "client.id": f"{settings.kafka.client_id}-admin"})

    def live_topics(self, names: Iterable[str]) -> dict[str, LiveTopic]:
        """The named topics that exist, with partition count, replication factor and configs."""
        metadata = self._call(lambda: self.client.list_topics(timeout=TIMEOUT_S), "list topics")
        present = [n for n in names if n in metadata.topics and metadata.topics[n].error is None]
        if not present:
            return {}
        resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in present]
        futures = self.client.describe_configs(resources, request_timeout=TIMEOUT_S)
        live = {}
        for resource, future in futures.items():
            entries = self._wait(future, f"describe configs of {resource.name}")
            topic = metadata.topics[resource.name]
            first = topic.partitions[min(topic.partitions)]
            live[resource.name] = LiveTopic(
                name=resource.name,
                partitions=len(topic.partitions),
                replication_factor=len(first.replicas),
                config={k: e.value for k, e in entries.items() if e.value is not None},
            )
        return live

    def create(self, specs: Iterable[TopicLayout]) -> None:
        new = [NewTopic(s.name, num_partitions=s.partitions, replication_factor=s.replication_factor, config=dict(s.config)) for s in specs]
        if not new:
            return
        for name, future in self.client.create_topics(new, operation_timeout=TIMEOUT_S).items():
            self._wait(future, f"create {name}", ignore=KafkaError.TOPIC_ALREADY_EXISTS)
        for topic in new:
            await_leaders(self.client, topic.topic, topic.num_partitions)

    def delete(self, names: Iterable[str]) -> None:
        """Delete the named topics (benchmarks' own topics); a topic already gone is fine."""
        names = list(names)
        if not names:
            return
        for name, future in self.client.delete_topics(names, operation_timeout=TIMEOUT_S).items():
            self._wait(future, f"delete {name}", ignore=KafkaError.UNKNOWN_TOPIC_OR_PART)

    def add_partitions(self, increases: Mapping[str, int]) -> None:
        if not increases:
            return
        requests = [NewPartitions(name, total) for name, total in increases.items()]
        for name, future in self.client.create_partitions(requests, operation_timeout=TIMEOUT_S).items():
            self._wait(future, f"grow {name}")
        for name, total in increases.items():
            await_leaders(self.client, name, total)

    def alter_configs(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        """Set the given keys per topic (incremental: keys not named keep their values). Brokers apply
        them asynchronously: ``topics.apply`` waits until ``live_topics`` shows them."""
        resources = [
            ConfigResource(
                ConfigResource.Type.TOPIC,
                name,
                incremental_configs=[ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in values.items()],
            )
            for name, values in changes.items()
            if values
        ]
        if not resources:
            return
        for resource, future in self.client.incremental_alter_configs(resources, request_timeout=TIMEOUT_S).items():
            self._wait(future, f"alter configs of {resource.name}")

    def _call(self, fn: Any, what: str) -> Any:
        try:
            return fn()
        except KafkaException as exc:
            raise RetriableError(f"Kafka could not {what}: {exc}") from exc

    def _wait(self, future: Any, what: str, ignore: int | None = None) -> Any:
        try:
            return future.result(timeout=TIMEOUT_S)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if ignore is not None and isinstance(error, KafkaError) and error.code() == ignore:
                return None
            if isinstance(error, KafkaError) and error.retriable():
                raise RetriableError(f"Kafka could not {what}: {error.str()}") from exc
            raise ConfigurationError(f"Kafka refused to {what}: {error.str() if isinstance(error, KafkaError) else exc}") from exc


def await_leaders(admin: AdminClient, topic: str, partitions: int, timeout_s: float = TIMEOUT_S) -> None:
    """Block until ``topic`` shows ``partitions`` partitions, each with a leader."""
    deadline = time.monotonic() + timeout_s
    while True:
        described: Any = admin.list_topics(topic, timeout=10).topics.get(topic)
        if described is not None and described.error is None and len(described.partitions) == partitions:
            if all(p.leader >= 0 for p in described.partitions.values()):
                return
        if time.monotonic() > deadline:
            raise RetriableError(f"topic {topic} has no leader for every partition after {timeout_s:g}s")
        time.sleep(0.1)
