"""A clear word when nothing listens: `publish narration --wait` with no audio agent running says,
within 10 s, that no audio agent consumes the request topic, keeps waiting, and completes once an
agent starts. The CLI runs as a subprocess (as a user runs it), on the test's fresh topics."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from media_stream.config import PROJECT_ROOT, Settings
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import RunningAgent
from tests.helpers.routes import make_routes

pytestmark = pytest.mark.kafka


def topics_file(routes: AgentRoutes, image: AgentRoutes, folder: Path) -> Path:
    by_role = {"audio_requests": routes.requests, "audio_ready": routes.audio_ready, "job_failed": routes.job_failed, "job_status": routes.job_status,
               "control": routes.control, "image_requests": image.requests, "image_ready": image.image_ready, "batch_completed": image.batch_completed}  # fmt: skip
    raw = yaml.safe_load((PROJECT_ROOT / "topics.yaml").read_text())
    for topic in raw["topics"]:
        if topic["role"] in by_role:
            topic["name"] = by_role[topic["role"]]
    path = folder / "topics.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


class Lines:
    """A process's stderr and stdout lines as they come, each with the seconds since the start."""

    def __init__(self, process: subprocess.Popen, started: float) -> None:
        self.seen: list[tuple[float, str, str]] = []
        for name, stream in (("err", process.stderr), ("out", process.stdout)):
            threading.Thread(target=self._read, args=(name, stream, started), daemon=True).start()

    def _read(self, name: str, stream, started: float) -> None:  # noqa: ANN001
        for line in stream:
            self.seen.append((time.monotonic() - started, name, line.rstrip("\n")))

    def first(self, words: str, within_s: float) -> tuple[float, str, str] | None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            found = next((entry for entry in list(self.seen) if words in entry[2]), None)
            if found:
                return found
            time.sleep(0.05)
        return None


def test_wait_with_no_agent_says_so_within_10_s_and_keeps_waiting(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str], start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    audio = make_routes(unique_topic, medium="audio")
    image = make_routes(unique_topic)
    env = {**os.environ, "MEDIA_STREAM_TOPICS_FILE": str(topics_file(audio, image, tmp_path)), "MEDIA_STREAM_STORAGE__ROOT": str(settings.storage.root), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    command = [sys.executable, "-m", "media_stream.cli", "publish", "narration", "--project", "proj-nobody", "--text", "Bonjour.", "--wait", "--timeout", "120", "--bootstrap", kafka_bootstrap]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(process, started)
        said = lines.first("is consuming", 10.0)
        assert said is not None, lines.seen
        at, stream, text = said
        assert f"no audio agent is consuming {audio.requests}: start `media-stream worker audio`" in text
        print(f"notice after {at:.1f} s")
        assert stream == "err" and at <= 10.0
        assert process.poll() is None  # still waiting

        running = start_agent(on=audio, medium="audio")  # an agent comes: the same wait completes
        assert process.wait(120) == 0, lines.seen
        running.stop()
        assert any("AudioReady" in text for _, _, text in lines.seen), lines.seen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
