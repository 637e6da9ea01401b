"""Agents against the real broker: fresh co-partitioned topics per test, agents on threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from media_stream.client.subscriber import OutcomeSubscriber
from media_stream.config import Settings
from media_stream.render.preview import PreviewRenderer
from media_stream.runtime.agent import Agent
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.storage.filesystem import FilesystemStore

PARTITIONS = 3
COMPACT = {"cleanup.policy": "compact"}


def make_routes(unique_topic: Callable[..., str], partitions: int = PARTITIONS, medium: str = "image") -> AgentRoutes:
    """Fresh topics for one agent group: requests, control and state co-partitioned."""
    return AgentRoutes(
        requests=unique_topic("requests", partitions=partitions),
        dead_letters=unique_topic("dlq"),
        job_status=unique_topic("status", config=COMPACT),
        job_failed=unique_topic("failed"),
        control=unique_topic("control", partitions=partitions),
        control_dead_letters=unique_topic("control-dlq"),
        dedupe=unique_topic("dedupe", partitions=partitions, config=COMPACT),
        progress=unique_topic("progress", partitions=partitions, config=COMPACT),
        request_types=("ImageRequested", "StoryboardRequested") if medium == "image" else ("NarrationRequested", "MusicRequested"),
        image_ready=unique_topic("ready"),
        audio_ready=unique_topic("audio-ready") if medium == "audio" else None,
        batch_completed=unique_topic("batch"),
        character_registry=unique_topic("characters", partitions=partitions, config=COMPACT),
    )


@pytest.fixture
def routes(unique_topic: Callable[..., str]) -> AgentRoutes:
    return make_routes(unique_topic)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(storage={"root": tmp_path / "storage"})
    settings.worker.poll_timeout_s = 0.05
    return settings


@dataclass
class RunningAgent:
    agent: Agent
    thread: threading.Thread
    errors: list[BaseException]

    def stop(self, timeout_s: float = 60.0) -> None:
        self.agent.stopping.set()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), f"the agent did not stop within {timeout_s:g}s"
        assert not self.errors, f"the agent failed: {self.errors!r}"


@pytest.fixture
def start_agent(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str) -> Iterator[Callable[..., RunningAgent]]:
    """``start_agent(renderer=None, group=None, on=None)``: an image agent on a thread (on the test's
    routes, or ``on``), stopped at the end."""
    started: list[RunningAgent] = []

    def start(renderer: Any = None, group: str | None = None, on: AgentRoutes | None = None, medium: str = "image") -> RunningAgent:
        store = FilesystemStore(settings.storage.root)
        chosen = on or routes
        if renderer is None and medium == "image":
            renderer = PreviewRenderer()
        agent = build_agent(settings, medium, kafka_bootstrap, group or f"agents-{chosen.requests}", chosen, renderer, store)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                agent.run()
            except BaseException as exc:  # noqa: BLE001 - reported by stop()
                errors.append(exc)

        thread = threading.Thread(target=run, name=f"agent-{len(started)}", daemon=True)
        thread.start()
        running = RunningAgent(agent, thread, errors)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.agent.stopping.set()
            running.thread.join(60)


def outcome_topics(routes: AgentRoutes) -> list[str]:
    return [t for t in (routes.image_ready, routes.batch_completed, routes.audio_ready, routes.job_failed, routes.job_status, routes.dead_letters) if t]


def collect(settings: Settings, routes: AgentRoutes, bootstrap: str, until: Callable[[list], bool], timeout_s: float = 60.0) -> list[tuple[str, object]]:
    """Outcomes as a read_committed subscriber sees them, until ``until(seen)`` holds."""
    subscriber = OutcomeSubscriber(settings, outcome_topics(routes), bootstrap)
    seen: list[tuple[str, object]] = []
    try:
        for pair in subscriber.events(timeout_s=timeout_s):
            seen.append(pair)
            if until(seen):
                return seen
    finally:
        subscriber.close()
    raise AssertionError(f"outcomes stopped arriving before the expected end; got {[type(e).__name__ for _, e in seen]}")
