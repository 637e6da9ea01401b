"""The walking skeleton against the real broker: a storyboard flows from request to BatchCompleted,
and what cannot be processed ends in the dead-letter topic with its bytes and a JobFailed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from PIL import Image

from media_stream.client.publisher import RequestPublisher
from media_stream.config import Settings
from media_stream.domain.outcomes import (
    BatchCompleted,
    DeadLetter,
    ImageReady,
    JobFailed,
    JobStatusChanged,
)
from media_stream.domain.requests import (
    Character,
    ImageRequested,
    Scene,
    StoryboardRequested,
    StyleConfig,
)
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect

pytestmark = pytest.mark.kafka

LEA = Character("lea", "Léa", "a girl with a yellow raincoat")
FOX = Character("fox", "the fox", "a small red fox with a blue scarf")


def storyboard(job: str) -> StoryboardRequested:
    return StoryboardRequested(
        request_id=f"req-{job}",
        job_id=job,
        project_id="proj-lea",
        scenes=(
            Scene("s1", "Léa finds the fox under the oak", (LEA, FOX)),
            Scene("s2", "Léa and the fox at the market", (LEA, FOX)),
            Scene("s3", "the fox alone on the hill", (FOX,)),
        ),
        style_config=StyleConfig(style="watercolor", width=256, height=192, steps=10, seed=7),
    )


def test_a_storyboard_flows_from_request_to_ready_images_and_batch_completed(
    settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]
) -> None:
    running = start_agent()
    publisher = RequestPublisher(settings, kafka_bootstrap)
    publisher.publish(storyboard("job-story"), topic=routes.requests)
    publisher.publish(ImageRequested("req-single", "job-single", "proj-other", prompt="a lighthouse", width=128, height=128, seed=3), topic=routes.requests)
    publisher.close()

    def done(seen: list) -> bool:  # both batches, and both final statuses (another topic, so any order)
        completed = {e.job_id for _, e in seen if isinstance(e, JobStatusChanged) and e.status == "completed"}
        ready = sum(isinstance(e, ImageReady) for _, e in seen)  # ready and batch are different topics:
        return ready == 4 and completed == {"job-story", "job-single"} and sum(isinstance(e, BatchCompleted) for _, e in seen) == 2

    seen = collect(settings, routes, kafka_bootstrap, done)

    ready = [e for _, e in seen if isinstance(e, ImageReady) and e.job_id == "job-story"]
    assert [e.scene_id for e in ready] == ["s1", "s2", "s3"]  # scene order
    assert [e.scene_index for e in ready] == [0, 1, 2]
    for event in ready:
        path = Path(event.url.removeprefix("file://"))
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == event.sha256
        assert Image.open(path).size == (256, 192) == (event.width, event.height)
        assert event.storage_key == f"images/proj-lea/job-story/{event.scene_id}/1.png"
        assert "preview" in event.model
        assert "watercolor" in event.prompt and "a small red fox with a blue scarf" in event.prompt
        assert ("a girl with a yellow raincoat" in event.prompt) == (event.scene_id != "s3")
    batch = next(e for _, e in seen if isinstance(e, BatchCompleted) and e.job_id == "job-story")
    assert batch.total_images == 3 and batch.failures == ()
    assert [i.storage_key for i in batch.images] == [e.storage_key for e in ready]

    statuses = [e for _, e in seen if isinstance(e, JobStatusChanged) and e.job_id == "job-story"]
    assert statuses[-1].status == "completed" and statuses[-1].progress == 1.0
    progress = [s.progress for s in statuses if s.status == "processing"]
    assert progress == sorted(progress) == [0.0, pytest.approx(1 / 3, abs=1e-3), pytest.approx(2 / 3, abs=1e-3)]

    single = next(e for _, e in seen if isinstance(e, BatchCompleted) and e.job_id == "job-single")
    assert single.total_images == 1 and single.project_id == "proj-other"
    assert _committed(kafka_bootstrap, routes.requests) == 2
    running.stop()


def test_poison_pills_and_invalid_requests_go_to_the_dead_letter_topic_with_bytes_and_reason(
    settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]
) -> None:
    running = start_agent()
    encoder = EventEncoder(EventCodec.from_settings(settings))
    invalid = ImageRequested("req-bad", "job-bad", "proj-bad", prompt="too wide", width=1001, height=512)
    invalid_message = encoder.message(routes.requests, "proj-bad", invalid, "00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(routes.requests, key=b"proj-junk", value=b"{\"prompt\": \"json is not our wire format\"}")
    producer.produce(routes.requests, key=invalid_message.key, value=invalid_message.value, headers=list(invalid_message.headers))
    producer.flush(30)
    publisher = RequestPublisher(settings, kafka_bootstrap)  # a good request after the bad ones still flows
    publisher.publish(ImageRequested("req-good", "job-good", "proj-bad", prompt="a kite", width=64, height=64), topic=routes.requests)
    publisher.close()

    def done(seen: list) -> bool:
        failed_status = any(isinstance(e, JobStatusChanged) and e.status == "failed" for _, e in seen)
        failed = any(isinstance(e, JobFailed) for _, e in seen)
        return sum(isinstance(e, DeadLetter) for _, e in seen) == 2 and failed and failed_status and any(isinstance(e, BatchCompleted) for _, e in seen)

    seen = collect(settings, routes, kafka_bootstrap, done)
    letters = {e.key: e for _, e in seen if isinstance(e, DeadLetter)}
    junk = letters[b"proj-junk"]
    assert junk.value == b"{\"prompt\": \"json is not our wire format\"}" and junk.source_topic == routes.requests
    assert junk.error_class == "UndecodableMessage" and junk.job_id is None
    bad = letters[b"proj-bad"]
    assert bad.value == invalid_message.value and bad.job_id == "job-bad"
    assert "width" in bad.error_message and "multiple of 8" in bad.error_message
    failed = next(e for _, e in seen if isinstance(e, JobFailed))
    assert failed.job_id == "job-bad" and failed.retryable is False and "width" in failed.reason
    assert any(isinstance(e, JobStatusChanged) and e.job_id == "job-bad" and e.status == "failed" for _, e in seen)
    assert next(e for _, e in seen if isinstance(e, BatchCompleted)).job_id == "job-good"
    assert _committed(kafka_bootstrap, routes.requests) == 3
    running.stop()


def _committed(bootstrap: str, topic: str) -> int:
    """Offsets the agent's group committed on ``topic``, summed over partitions."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"agents-{topic}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return sum(max(tp.offset, 0) for tp in committed)
    finally:
        consumer.close()
