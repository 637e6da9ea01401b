"""The job-status view against the real broker: latest status per job, incremental catch-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import JobStatusChanged
from media_stream.kafka.producer import EventProducer
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.state.status_view import StatusView

pytestmark = pytest.mark.kafka


def publish(settings: Settings, bootstrap: str, topic: str, *events: JobStatusChanged) -> None:
    encoder = EventEncoder(EventCodec.from_settings(settings))
    producer = EventProducer(settings, bootstrap)
    for event in events:
        producer.send(encoder.message(topic, event.job_id, event, "00-" + "5" * 32 + "-" + "6" * 16 + "-01"))
    producer.close()


def test_the_view_answers_the_latest_status_and_catches_up_incrementally(kafka_bootstrap: str, unique_topic: Callable[..., str], tmp_path: Path) -> None:
    settings = Settings()
    topic = unique_topic("status", partitions=3, config={"cleanup.policy": "compact"})
    publish(settings, kafka_bootstrap, topic,
            JobStatusChanged("job-a", "proj", "queued"), JobStatusChanged("job-a", "proj", "processing", progress=0.5),
            JobStatusChanged("job-b", "proj", "failed", error="width: 1001 is not a valid size"))
    view = StatusView(tmp_path / "status.sqlite", settings, topic, kafka_bootstrap)
    assert view.catch_up() == 3
    a = view.get("job-a")
    assert a is not None and (a.status, a.progress) == ("processing", 0.5)
    assert view.get("job-b").error.startswith("width")
    assert view.get("job-c") is None
    view.close()

    publish(settings, kafka_bootstrap, topic, JobStatusChanged("job-a", "proj", "completed", progress=1.0))
    reopened = StatusView(tmp_path / "status.sqlite", settings, topic, kafka_bootstrap)
    row, lookup_ms = reopened.query("job-a")
    assert row.status == "completed" and lookup_ms >= 0
    assert reopened.catch_up() == 0  # positions were stored: nothing is read twice
    reopened.close()
