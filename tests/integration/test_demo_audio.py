"""The demo tells the whole story (the card's Flow 5): the storyboard's images, then a narration
per scene and the music, through an audio agent the demo starts; ``audio=False`` is images only.
Its console output is what is checked, and every file it names is read back."""

from __future__ import annotations

import dataclasses
import io
import uuid
import re
from pathlib import Path

import pytest
import soundfile
from rich.console import Console

from media_stream.config import PROJECT_ROOT, Settings
from media_stream import demo
from media_stream.demo import run_demo

pytestmark = pytest.mark.kafka

PROJECT = f"demo-test-{uuid.uuid4().hex[:8]}"
LINE = re.compile(r"AudioReady\s+(narration|music)\s+(\S+)\s+([\d.]+) s\s+(voice|style)=(\S+)\s+(\S+)\s+\(([^)]+)\)")


@pytest.fixture(scope="module")
def topics_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """topics.yaml with this session's topic names: a shared broker's media.* topics hold other
    builds' events (schemas this build may not know), which the demo is not there to read."""
    path = tmp_path_factory.mktemp("demo-topics") / "topics.yaml"
    path.write_text((PROJECT_ROOT / "topics.yaml").read_text().replace("name: media.", f"name: {PROJECT}.media."))
    return path


@pytest.fixture(scope="module")
def storage_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one store for both runs, as for a user running the demo twice: the demo's characters are
    # registered (compacted topic) with reference images in this store
    return tmp_path_factory.mktemp("demo") / "storage"


def _run(storage_root: Path, topics_file: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, audio: bool) -> tuple[int, str]:
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__ROOT", str(storage_root))  # the agents read these too
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_FILE", str(topics_file))
    monkeypatch.setenv("MEDIA_STREAM_WORKER__GROUP_ID", f"{PROJECT}-image-agents")
    monkeypatch.setenv("MEDIA_STREAM_KAFKA__BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_PROFILE", "local")
    # a project of this session: the characters it registers (a compacted topic, kept by a shared
    # broker) then point at reference images in this session's store
    sample = demo.sample_storyboard
    monkeypatch.setattr(demo, "sample_storyboard", lambda scenes: dataclasses.replace(sample(scenes), project_id=PROJECT))
    out = io.StringIO()
    code = run_demo(Settings(), scenes=2, keep_running=False, console=Console(file=out, width=400, color_system=None), audio=audio)
    return code, out.getvalue()


def test_demo_narrates_and_scores_the_storyboard(storage_root, topics_file, kafka_bootstrap, monkeypatch):
    code, output = _run(storage_root, topics_file, kafka_bootstrap, monkeypatch, audio=True)
    assert code == 0, output
    assert "BatchCompleted: 2 images, 0 failures" in output
    assert output.index("BatchCompleted") < output.index("AudioReady")  # images, then audio
    assert "audio worker pid" in output and "speech espeak, music procedural" in output
    ready = LINE.findall(output)
    assert sorted((kind, label) for kind, label, *_ in ready) == [("music", "score"), ("narration", "scene-01"), ("narration", "scene-02")], output
    for kind, _label, duration, what, value, path, model in ready:
        info = soundfile.info(path)  # the file it names exists and is the audio it describes
        assert abs(info.duration - float(duration)) < 0.1
        if kind == "narration":
            assert (what, value) == ("voice", "fr-FR-Denise") and model.startswith("espeak-ng") and float(duration) > 1.5
        else:
            assert (what, value) == ("style", "playful") and model.startswith("procedural") and float(duration) >= 10.0
    assert "Audio: 3 files" in output


def test_no_audio_is_images_only(storage_root, topics_file, kafka_bootstrap, monkeypatch):
    code, output = _run(storage_root, topics_file, kafka_bootstrap, monkeypatch, audio=False)
    assert code == 0, output
    assert "BatchCompleted: 2 images" in output
    assert "AudioReady" not in output and "audio worker" not in output
