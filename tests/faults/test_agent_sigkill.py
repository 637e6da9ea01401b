"""An agent process killed with SIGKILL mid-storyboard (between transactions), and mid-transaction
(its ImageReady events sent to the broker, the commit not made). The other agent takes over its
partitions and every storyboard completes: nothing lost, no scene shown twice, order kept; the
scenes of the open transaction are rendered again and published once."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import agent_processes, agent_spec, await_assignments, await_file, await_renders
from tests.helpers.outcomes import collect
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import make_routes
from tests.helpers.scripted_renderer import render_log

pytestmark = pytest.mark.kafka
PARTITIONS = 6
SCENES = 6


@pytest.fixture
def six_partitions(unique_topic: Callable[..., str]) -> AgentRoutes:
    return make_routes(unique_topic, PARTITIONS)


@pytest.mark.parametrize("moment", ["mid-storyboard", "mid-transaction"])
def test_sigkill_of_an_agent_loses_nothing_and_shows_no_scene_twice(moment: str, settings: Settings, six_partitions: AgentRoutes, kafka_bootstrap: str, tmp_path: Path) -> None:
    routes, log, marker = six_partitions, tmp_path / "renders.log", tmp_path / "held.json"
    victim_spec = agent_spec(kafka_bootstrap, routes, tmp_path)
    if moment == "mid-transaction":
        victim_spec["hold_commit"] = {"marker": str(marker), "after_ready": 2}
    submitted = [storyboard(f"kill-{p}", f"proj-{p}", scenes=SCENES) for p in range(PARTITIONS)]
    with agent_processes([victim_spec, agent_spec(kafka_bootstrap, routes, tmp_path)], tmp_path) as (victim, survivor):
        await_assignments(2, tmp_path)
        publish(settings, kafka_bootstrap, routes, *submitted)
        if moment == "mid-transaction":
            await_file(marker)
        else:
            await_renders(victim, log, at_least=3)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        seen = collect(settings, routes, kafka_bootstrap, all_ended(submitted), timeout_s=90)
        survivor_alive = survivor.poll() is None

    assert survivor_alive
    endings = assert_accounted(seen, submitted)
    assert set(endings.values()) == {"completed"}
    renders = render_log(log)
    by_victim = {(tag, scene) for pid, tag, scene in renders if pid == victim.pid}
    assert by_victim, "the victim rendered nothing before it was killed"
    again = {key for key, n in Counter((tag, scene) for _, tag, scene in renders).items() if n > 1}
    assert again <= by_victim  # only what the victim rendered and never committed is rendered twice
    if moment == "mid-transaction":
        assert again, "the scenes of the open transaction must be rendered again by the survivor"
