"""Move a consumer group's committed offsets to a point in time (offsets_for_times), never
under a live group: the group must have no active members, or the reset is refused."""

from __future__ import annotations


from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from media_stream.config import Settings
from media_stream.domain.errors import MediaStreamError, RetriableError
from media_stream.kafka.config import client_config
from media_stream.kafka.consumer import groupless_consumer, watermarks

TIMEOUT_S = 30.0


class GroupIsActive(MediaStreamError):
    """The group still has members: they would overwrite the reset offsets with their own commits."""


def active_members(admin: AdminClient, group: str) -> list[str]:
    """The member ids of ``group`` (empty for an empty, dead or unknown group)."""
    try:
        description = admin.describe_consumer_groups([group], request_timeout=TIMEOUT_S)[group].result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise RetriableError(f"Kafka could not describe group {group}: {exc}") from exc
    return [m.member_id for m in (description.members or [])]


def reset_group_to_time(settings: Settings, group: str, topic: str, timestamp_ms: int, bootstrap: str | None = None) -> dict[int, int]:
    """Set ``group``'s committed offset on every partition of ``topic`` to the first message at or
    after ``timestamp_ms`` (the partition's end where none is). Returns {partition: new offset}.
    Raises GroupIsActive while the group has members."""
    conf = client_config(settings, bootstrap)
    admin = AdminClient({**conf, "client.id": f"{settings.kafka.client_id}-admin"})
    members = active_members(admin, group)
    if members:
        raise GroupIsActive(f"group {group} has {len(members)} active member(s): stop its consumers before resetting its offsets")
    consumer = groupless_consumer(settings, bootstrap, "reset")
    try:
        metadata = consumer.list_topics(topic, timeout=TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise MediaStreamError(f"topic {topic} does not exist")
        partitions = sorted(metadata.partitions)
        found = consumer.offsets_for_times([TopicPartition(topic, p, timestamp_ms) for p in partitions], timeout=TIMEOUT_S)
        targets: dict[int, int] = {}
        for tp in found:
            offset = tp.offset
            if offset < 0:  # nothing at or after the time: the end
                _, offset = watermarks(consumer, topic, tp.partition, TIMEOUT_S)
            targets[tp.partition] = offset
    finally:
        consumer.close()
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p, o) for p, o in targets.items()])
    try:
        result = admin.alter_consumer_group_offsets([request], request_timeout=TIMEOUT_S)[group].result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        text = error.str() if hasattr(error, "str") else str(error)
        if "UNKNOWN_MEMBER_ID" in text or "REBALANCE" in text.upper() or "NON_EMPTY" in text.upper():
            raise GroupIsActive(f"group {group} became active during the reset: {text}") from exc
        raise RetriableError(f"Kafka could not reset group {group}: {text}") from exc
    for tp in result.topic_partitions:
        if tp.error is not None:
            raise RetriableError(f"Kafka could not reset {topic}[{tp.partition}] for {group}: {tp.error}")
    return targets
