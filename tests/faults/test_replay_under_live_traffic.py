"""A day of requests replayed (new render version) while live traffic flows into the same topic and
projects: every replayed request renders once more under the new version, every live request
renders once, old and new files sit side by side, and each producer's per-project order is kept."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from media_stream.client.replay import replay
from media_stream.config import Settings
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka
PROJECTS = 4


def test_replaying_a_day_while_live_traffic_flows_renders_each_version_once(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    running = start_agent(ScriptedRenderer(default_delay_s=0.02))
    day_began = datetime.now(UTC) - timedelta(seconds=1)
    day = [storyboard(f"day-{i}", f"proj-{i % PROJECTS}", scenes=2) if i % 3 == 0 else image(f"day-{i}", f"proj-{i % PROJECTS}") for i in range(16)]
    publish(settings, kafka_bootstrap, routes, *day)
    collect(settings, routes, kafka_bootstrap, all_ended(day))
    day_ended = datetime.now(UTC)
    time.sleep(0.2)

    live = [image(f"live-{i}", f"proj-{i % PROJECTS}") for i in range(16)]
    live_done = threading.Event()

    def live_traffic() -> None:
        for i in range(0, len(live), 2):
            publish(settings, kafka_bootstrap, routes, *live[i : i + 2])
            time.sleep(0.05)
        live_done.set()

    publisher = threading.Thread(target=live_traffic, daemon=True)
    publisher.start()
    report = replay(settings, routes.requests, render_version=2, bootstrap=kafka_bootstrap, since=day_began, until=day_ended)
    publisher.join(60)
    assert live_done.is_set()
    assert report.published == len(day)  # the day, and none of the live requests

    replayed = [dataclasses.replace(r, render_version=2) for r in day]
    everything = day + live + replayed
    seen = collect(settings, routes, kafka_bootstrap, all_ended(everything), timeout_s=90)
    running.stop()
    endings = assert_accounted(seen, everything, streams=[day, live, replayed])
    assert set(endings.values()) == {"completed"} and len(endings) == 48
    assert running.agent.counters["completed"] == 48 and running.agent.counters["duplicates"] == 0
    files = settings.storage.root / "images" / "proj-1" / "day-1" / "image"
    assert sorted(p.name for p in files.glob("*.png")) == ["1.png", "2.png"]
