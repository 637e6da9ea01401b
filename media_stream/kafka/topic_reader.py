"""Read every partition of a topic from its start, outside any consumer group (read_committed).

For topics every agent must see whole, such as the control topic.
"""

from __future__ import annotations

import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from media_stream.config import Settings
from media_stream.kafka.config import client_config
from media_stream.kafka.messages import ConsumedMessage, from_confluent


class WholeTopicReader:
    def __init__(self, settings: Settings, bootstrap: str | None, topic: str) -> None:
        conf = client_config(settings, bootstrap)
        conf.update({"group.id": f"media-stream-reader-{uuid.uuid4().hex[:12]}", "enable.auto.commit": False, "isolation.level": "read_committed"})
        self._consumer = Consumer(conf)
        partitions = self._consumer.list_topics(topic, timeout=30).topics[topic].partitions
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])

    def poll(self, timeout_s: float) -> ConsumedMessage | None:
        msg = self._consumer.poll(timeout_s)
        if msg is None or msg.error():
            return None
        return from_confluent(msg)

    def close(self) -> None:
        self._consumer.close()
