"""The SDK's narrate() and compose_music() against a running audio agent (eSpeak NG, the
procedural composer): each job is followed to its AudioReady with a real file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile

from media_stream.client.sdk import MediaStreamClient
from media_stream.config import Settings
from media_stream.domain.outcomes import AudioReady, JobStatusChanged
from tests.helpers.agents import RunningAgent
from tests.helpers.routes import make_routes

pytestmark = pytest.mark.kafka


def test_narrate_and_compose_music_complete_against_an_audio_agent(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str], start_agent: Callable[..., RunningAgent]) -> None:
    routes = make_routes(unique_topic, medium="audio")
    running = start_agent(on=routes, medium="audio")
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        narration = client.narrate("proj-sdk-audio", "Le renard traverse la forêt. Il s'arrête au bord de la rivière.", voice="fr-FR-Henri")
        assert narration.topic == routes.requests and narration.estimated_duration_s is not None and narration.estimated_duration_s > 1.0
        music = client.compose_music("proj-sdk-audio", 2.0, style="lullaby", tempo=80)
        spoken = narration.wait(timeout_s=120)
        events = list(music.events(timeout_s=120))
    running.stop()

    assert isinstance(spoken, AudioReady) and spoken.job_id == narration.job_id and spoken.kind == "narration"
    assert "espeak" in spoken.model.lower()
    assert abs(spoken.duration_seconds - narration.estimated_duration_s) <= 0.3 * narration.estimated_duration_s
    composed = music.outcome
    assert isinstance(composed, AudioReady) and composed.kind == "music" and abs(composed.duration_seconds - 2.0) < 0.2
    assert any(isinstance(e, JobStatusChanged) and e.status == "completed" for e in events)
    for ready in (spoken, composed):
        info = soundfile.info(str(Path(ready.url.removeprefix("file://"))))
        assert info.samplerate == ready.sample_rate and abs(info.duration - ready.duration_seconds) < 0.1
