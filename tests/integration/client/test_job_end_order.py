"""The one job-end rule against the broker, in the order that fooled `watch` and the demo: the
terminal status and the BatchCompleted arrive before the last ImageReady (it is on another topic).
`watch --job` and the SDK's JobHandle both wait for it; nothing renders here, the outcomes are
produced by the test in that order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from media_stream.cli import app
from media_stream.client.sdk import MediaStreamClient
from media_stream.config import PROJECT_ROOT, Settings, get_settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady, ImageSummary, JobStatusChanged
from media_stream.domain.records import to_record
from media_stream.domain.requests import Scene, StoryboardRequested
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import EventProducer
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from tests.helpers.routes import make_routes

pytestmark = pytest.mark.kafka
SCENES = ("a", "b", "c", "d")


def late_last_image(settings: Settings, bootstrap: str, routes: AgentRoutes, job: str, after_s: float) -> threading.Thread:
    """Status completed, BatchCompleted of 4, ImageReady a, b, c at once; ImageReady d ``after_s`` later."""
    codec = EventCodec.from_settings(settings)

    def send(producer: EventProducer, topic: str, event: object) -> None:
        producer.send(OutgoingMessage(topic, b"proj-order", codec.encode(type(event).__name__, to_record(event))))

    def run() -> None:
        time.sleep(after_s)
        producer = EventProducer(settings, bootstrap)
        send(producer, routes.job_status, JobStatusChanged(job, "proj-order", "completed", "req-1", 1.0))
        send(producer, routes.batch_completed, BatchCompleted(job, "proj-order", "req-1", 1, total_images=4, images=tuple(ImageSummary(s, f"file:///{s}.png", f"{s}.png", "0" * 64) for s in SCENES)))
        for scene in SCENES[:3]:
            send(producer, routes.image_ready, ImageReady(job, "proj-order", "req-1", 1, scene_id=scene, url=f"file:///{scene}.png"))
        producer.flush()
        time.sleep(2.0)
        send(producer, routes.image_ready, ImageReady(job, "proj-order", "req-1", 1, scene_id="d", url="file:///d.png"))
        producer.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_job_handle_waits_for_every_image_the_batch_lists(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str]) -> None:
    routes = make_routes(unique_topic)
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        request = StoryboardRequested(request_id="req-1", job_id="job-order-sdk", project_id="proj-order", scenes=tuple(Scene(s, f"scene {s}") for s in SCENES))
        handle = client.submit(request)  # no agent: the test plays the agent's outcomes
        thread = late_last_image(settings, kafka_bootstrap, routes, "job-order-sdk", 0.5)
        events = list(handle.events(timeout_s=30, on_notice=None))
        thread.join(10)
    assert [e.scene_id for e in events if isinstance(e, ImageReady)] == list(SCENES)
    assert isinstance(events[-1], ImageReady) and isinstance(handle.outcome, BatchCompleted)


def test_watch_job_prints_all_four_images_before_it_ends(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    routes = make_routes(unique_topic)
    by_role = {"image_requests": routes.requests, "control": routes.control, "image_ready": routes.image_ready, "batch_completed": routes.batch_completed,
               "job_failed": routes.job_failed, "job_status": routes.job_status, "audio_ready": unique_topic("audio-ready"), "audio_requests": unique_topic("audio-requests")}  # fmt: skip
    raw = yaml.safe_load((PROJECT_ROOT / "topics.yaml").read_text())
    for topic in raw["topics"]:
        if topic["role"] in by_role:
            topic["name"] = by_role[topic["role"]]
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_FILE", str(tmp_path / "topics.yaml"))
    get_settings.cache_clear()
    try:
        thread = late_last_image(settings, kafka_bootstrap, routes, "job-order-watch", 4.0)  # watch reads from now: give it time to start
        watched = CliRunner().invoke(app, ["watch", "--job", "job-order-watch", "--timeout", "30", "--bootstrap", kafka_bootstrap])
        thread.join(10)
    finally:
        get_settings.cache_clear()
    assert watched.exit_code == 0, watched.output
    printed = [line.split()[2] for line in watched.output.splitlines() if line.startswith("ready ")]
    assert printed == list(SCENES), watched.output
