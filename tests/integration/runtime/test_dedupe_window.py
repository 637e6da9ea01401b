"""The dedupe window: a requestId is remembered for ``worker.dedupe_window_s``, then forgotten with
a tombstone on the dedupe changelog, so the table's memory is bounded by one window of requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.kafka.partition_reader import read_to_end
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended
from tests.helpers.requests import image, publish
from tests.helpers.routes import PARTITIONS
from tests.helpers.scripted_renderer import ScriptedRenderer, render_log

pytestmark = pytest.mark.kafka


def test_a_request_id_is_forgotten_after_the_window_with_a_tombstone(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    settings.worker.dedupe_window_s = 2.0  # below the setting's floor, on purpose: the test cannot wait 10 minutes
    renderer = ScriptedRenderer(tmp_path / "renders.log")
    running = start_agent(renderer)
    publish(settings, kafka_bootstrap, routes, image("once", "proj-w"))
    collect(settings, routes, kafka_bootstrap, ended({"once"}))
    publish(settings, kafka_bootstrap, routes, image("once", "proj-w"))  # inside the window: not rendered again
    deadline = time.monotonic() + 30
    while running.agent.counters["duplicates"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.agent.counters["duplicates"] == 1

    key = b"proj-w/req-once/v1"
    deadline = time.monotonic() + 30
    while running.agent.handled.values() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running.agent.handled.values() == []  # swept from memory once past the window
    time.sleep(1.0)  # the tombstone's transaction commits
    changelog = read_to_end(settings, kafka_bootstrap, [(routes.dedupe, p) for p in range(PARTITIONS)])
    written = [(m.key, m.value is None) for messages in changelog.values() for m in messages if m.key == key]
    assert written == [(key, False), (key, True)]  # the row, then its tombstone: a restore reads nothing back

    publish(settings, kafka_bootstrap, routes, image("once", "proj-w"))  # past the window: a new request
    deadline = time.monotonic() + 30
    while len(render_log(tmp_path / "renders.log")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    running.stop()
    assert [tag for _, tag, _ in render_log(tmp_path / "renders.log")] == ["once", "once"]
    assert running.agent.counters["duplicates"] == 1
