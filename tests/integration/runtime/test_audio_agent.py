"""The audio agent on its embedded defaults (eSpeak NG speech, the procedural composer) against the
real broker: AudioReady with a real file, and bad input dead-lettered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile

from media_stream.client.publisher import RequestPublisher
from media_stream.config import Settings
from media_stream.domain.outcomes import AudioReady, DeadLetter, JobFailed
from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect
from tests.helpers.routes import make_routes

pytestmark = pytest.mark.kafka


def test_narration_and_music_end_as_audio_ready_with_their_files(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str], start_agent: Callable[..., RunningAgent]) -> None:
    from confluent_kafka import Producer

    routes = make_routes(unique_topic, partitions=2, medium="audio")
    running = start_agent(on=routes, medium="audio")
    encoder = EventEncoder(EventCodec.from_settings(settings))
    trace = "00-" + "9" * 32 + "-" + "a" * 16 + "-01"
    narration = NarrationRequested("req-n", "job-n", "proj-a", text="Léa ouvre la porte. Le renard la regarde, puis il sourit.", voice="fr-FR-Denise")
    music = MusicRequested("req-m", "job-m", "proj-a", duration_seconds=3.0, style="ambient")
    bad = NarrationRequested("req-x", "job-x", "proj-a", text="Hello.", voice="xx-XX-Nobody")
    publisher = RequestPublisher(settings, kafka_bootstrap)
    accepted = publisher.publish(narration, topic=routes.requests)  # the client knows the estimate at once
    publisher.close()
    assert accepted.job_id == "job-n" and accepted.estimated_duration_s > 1.0
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for request in (bad, music):
        msg = encoder.message(routes.requests, "proj-a", request, trace)
        producer.produce(routes.requests, key=msg.key, value=msg.value, headers=list(msg.headers))
    producer.flush(30)

    def done(seen: list) -> bool:
        return sum(isinstance(e, AudioReady) for _, e in seen) == 2 and any(isinstance(e, JobFailed) for _, e in seen) and any(isinstance(e, DeadLetter) for _, e in seen)

    seen = collect(settings, routes, kafka_bootstrap, done, timeout_s=120)
    running.stop()
    ready = {e.job_id: e for _, e in seen if isinstance(e, AudioReady)}
    assert list(ready) == ["job-n", "job-m"]  # the project's order
    for event in ready.values():
        path = Path(event.url.removeprefix("file://"))
        info = soundfile.info(str(path))
        assert info.samplerate == event.sample_rate and abs(info.duration - event.duration_seconds) < 0.1
        assert event.storage_key == f"{event.kind}/proj-a/{event.job_id}/audio/1.{event.format}"
    assert ready["job-n"].kind == "narration" and "espeak" in ready["job-n"].model.lower()
    assert abs(ready["job-n"].duration_seconds - accepted.estimated_duration_s) <= 0.3 * accepted.estimated_duration_s
    assert ready["job-m"].kind == "music" and abs(ready["job-m"].duration_seconds - 3.0) < 0.2
    failed = next(e for _, e in seen if isinstance(e, JobFailed))
    assert failed.job_id == "job-x" and "fr-FR-Denise" in failed.reason  # the error lists the valid voices
