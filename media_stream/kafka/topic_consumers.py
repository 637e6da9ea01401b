"""Who consumes a topic right now: the live members of the consumer groups assigned to it.

A client that waits for an outcome asks this to say "nobody is listening" instead of waiting in
silence (``media_stream.client.listeners``). Read-only admin calls (ListGroups, DescribeGroups).
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from media_stream.config import Settings
from media_stream.domain.errors import RetriableError
from media_stream.kafka.config import client_config

TIMEOUT_S = 5.0


class TopicConsumers:
    """One admin client; ``members(topic, groups)`` counts live consumers of ``topic``."""

    def __init__(self, settings: Settings, bootstrap: str | None = None) -> None:
        conf = client_config(settings, bootstrap)
        self._admin = AdminClient({**conf, "client.id": f"{settings.kafka.client_id}-listeners"})

    def members(self, topic: str, groups: Iterable[str] = ()) -> int:
        """Members of any group assigned a partition of ``topic``, plus the members of ``groups``
        (the agents' own group) that have no assignment yet (between rebalances)."""
        named = list(dict.fromkeys(groups))
        try:
            listed = self._admin.list_consumer_groups(request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S)
            ids = list(dict.fromkeys([*named, *(g.group_id for g in listed.valid)]))
            if not ids:
                return 0
            described = self._admin.describe_consumer_groups(ids, request_timeout=TIMEOUT_S)
            count = 0
            for group_id, future in described.items():
                try:
                    description = future.result(timeout=TIMEOUT_S)
                except KafkaException:
                    continue  # a group gone between the two calls
                for member in description.members or []:
                    topics = {tp.topic for tp in (member.assignment.topic_partitions if member.assignment else [])}
                    if topic in topics or (group_id in named and not topics):
                        count += 1
            return count
        except KafkaException as exc:
            raise RetriableError(f"Kafka could not list the consumers of {topic}: {exc}") from exc
