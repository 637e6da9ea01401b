"""Agents of different media on one host: `media-stream worker image` and `media-stream worker audio`
both serve /metrics by default (a port per medium: 9400 and 9401), and two agents given the same
port fail with one clear line naming MEDIA_STREAM_OBSERVABILITY__PORT, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from media_stream.config import DEFAULT_PORTS, PROJECT_ROOT, Settings
from tests.helpers.routes import make_routes

pytestmark = pytest.mark.kafka


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the health server binds (TIME_WAIT is fine)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def agent_env(settings: Settings, unique_topic: Callable[..., str], tmp_path: Path) -> dict[str, str]:
    image, audio = make_routes(unique_topic), make_routes(unique_topic, medium="audio")
    by_role = {"image_requests": image.requests, "audio_requests": audio.requests, "control": image.control, "image_ready": image.image_ready,
               "batch_completed": image.batch_completed, "audio_ready": audio.audio_ready, "job_failed": image.job_failed, "job_status": image.job_status,
               "dedupe": image.dedupe, "job_progress": image.progress, "character_registry": image.character_registry,
               "image_requests_dlq": image.dead_letters, "audio_requests_dlq": audio.dead_letters, "agents": unique_topic("agents")}  # fmt: skip
    raw = yaml.safe_load((PROJECT_ROOT / "topics.yaml").read_text())
    for topic in raw["topics"]:
        if topic["role"] in by_role:
            topic["name"] = by_role[topic["role"]]
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(raw))
    env = {k: v for k, v in os.environ.items() if k != "MEDIA_STREAM_OBSERVABILITY__PORT"}
    env.update(MEDIA_STREAM_TOPICS_FILE=str(tmp_path / "topics.yaml"), MEDIA_STREAM_STORAGE__ROOT=str(settings.storage.root), MEDIA_STREAM_OBSERVABILITY__HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def workers(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(medium: str, env: dict[str, str]) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{medium}-{len(started)}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "media_stream.cli", "worker", medium, "--bootstrap", kafka_bootstrap], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def live(port: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def test_image_and_audio_agents_on_one_host_each_serve_metrics(agent_env: dict[str, str], workers: Callable[..., subprocess.Popen], tmp_path: Path) -> None:
    if not (port_free(DEFAULT_PORTS["image"]) and port_free(DEFAULT_PORTS["audio"])):
        pytest.skip("ports 9400/9401 are taken on this host by something else")
    image = workers("image", agent_env)
    audio = workers("audio", agent_env)
    assert live(DEFAULT_PORTS["image"], 90) and live(DEFAULT_PORTS["audio"], 90), [p.read_text() for p in tmp_path.glob("worker-*.log")]
    assert image.poll() is None and audio.poll() is None


def test_two_agents_on_one_port_fail_with_a_line_naming_the_setting(agent_env: dict[str, str], workers: Callable[..., subprocess.Popen], tmp_path: Path) -> None:
    port = free_port()
    env = {**agent_env, "MEDIA_STREAM_OBSERVABILITY__PORT": str(port)}
    first = workers("image", env)
    assert live(port, 90), (tmp_path / "worker-image-0.log").read_text()
    second = workers("audio", env)
    assert second.wait(120) == 2
    said = (tmp_path / "worker-audio-1.log").read_text()
    assert "MEDIA_STREAM_OBSERVABILITY__PORT" in said and f":{port}" in said, said
    assert "Traceback" not in said, said
    assert first.poll() is None
