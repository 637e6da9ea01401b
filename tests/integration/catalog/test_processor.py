"""The catalog processor: one entry per outcome even across a restart of the group, bad bytes
dead-lettered and other records passed over, the same key for the same asset."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from media_stream.catalog.topics import CatalogTopics
from media_stream.domain.outcomes import BatchCompleted
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.partition_reader import read_to_end
from media_stream.kafka.producer import EventProducer
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.catalog_fixtures import CatalogEnv
from tests.helpers.outcomes import ready
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
TRACE = "00-" + "3" * 32 + "-" + "4" * 16 + "-01"


def assets_log(env: CatalogEnv) -> list[bytes]:
    """Every committed message key of the assets topic (compaction has not run: the whole log)."""
    topic = env.topics.assets
    partitions = TopicAdmin(env.settings, env.bootstrap).live_topics([topic])[topic].partitions
    read = read_to_end(env.settings, env.bootstrap, [(topic, p) for p in range(partitions)], 30)
    return [m.key for messages in read.values() for m in messages]


def test_one_entry_per_outcome_across_a_restart(catalog_env: CatalogEnv, start_processor: Callable) -> None:
    env = catalog_env
    encoder = EventEncoder(EventCodec.from_settings(env.settings))
    producer = EventProducer(env.settings, env.bootstrap)

    def publish(jobs: list[str]) -> None:
        for job in jobs:
            producer.send(encoder.message(env.image.image_ready, "proj-q", ready(job, "noir", "preview/embedded-v1", 1, None), TRACE))
        producer.send(OutgoingMessage(env.image.image_ready, b"proj-q", b"\x00not avro"))  # dead-lettered
        producer.send(encoder.message(env.image.image_ready, "proj-q", BatchCompleted("job-x", "proj-q", "req-x", 1), TRACE))  # not an asset
        producer.flush()

    publish(["job-1", "job-2", "job-3"])
    topics = CatalogTopics(env.topics.image_ready, env.topics.audio_ready, env.topics.assets, env.topics.asset_ratings, env.topics.assets_dlq)
    first = start_processor(topics)
    wait_for("three entries", lambda: len(assets_log(env)) == 3)
    first.stopping.set()
    first.thread.join(30)
    assert not first.thread.is_alive()  # it committed and left the group
    publish(["job-4", "job-5"])
    start_processor(topics)  # same group: continues after the committed offsets
    wait_for("five entries", lambda: len(assets_log(env)) >= 5)
    keys = assets_log(env)
    assert sorted(keys) == [f"proj-q/job-{i}:s0:v1".encode() for i in range(1, 6)]  # once each, never twice
    assert [a.asset_id for a in env.client.catalog.assets("proj-q")] == [f"job-{i}:s0:v1" for i in range(1, 6)]
    producer.close()
