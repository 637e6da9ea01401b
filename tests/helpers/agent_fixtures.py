"""Pytest plugin (listed in tests/conftest.py): the agent fixtures every broker test shares —
``routes`` (fresh co-partitioned topics), ``settings`` and ``start_agent`` (agents on threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from media_stream.config import Settings
from media_stream.render.image.preview import PreviewRenderer
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.storage.filesystem import FilesystemStore
from tests.helpers.agents import RunningAgent
from tests.helpers.routes import make_routes


@pytest.fixture
def routes(unique_topic: Callable[..., str]) -> AgentRoutes:
    return make_routes(unique_topic)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(storage={"root": tmp_path / "storage"})
    settings.worker.poll_timeout_s = 0.05
    return settings


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
