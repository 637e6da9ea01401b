"""Three agent processes in one group over 12 partitions; one is killed with SIGKILL mid-storyboard.

The survivors take over its partitions, restore the progress it committed, and finish. A
read_committed subscriber sees each scene's ImageReady exactly once, and finished scenes are not
rendered again: renders exceed scenes only by the batches the killed agent had in hand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import agent_processes, agent_spec, await_assignments
from tests.helpers.outcomes import collect, ended
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import make_routes
from tests.helpers.scripted_renderer import render_log

pytestmark = pytest.mark.kafka
PARTITIONS = 12
PROJECTS = 6
SCENES = 8
MAX_BATCH = 4
IN_HAND = 2 * MAX_BATCH  # the render thread holds at most two batches


@pytest.fixture
def wide_routes(unique_topic: Callable[..., str]) -> AgentRoutes:
    return make_routes(unique_topic, PARTITIONS)


def test_sigkill_mid_storyboard_loses_nothing_and_re_renders_no_finished_scene(
    settings: Settings, wide_routes: AgentRoutes, kafka_bootstrap: str, tmp_path: Path
) -> None:
    log = tmp_path / "renders.log"
    spec = agent_spec(kafka_bootstrap, wide_routes, tmp_path, delay_s=0.25, transaction_timeout_ms=None)  # the default transaction timeout
    with agent_processes([spec] * 3, tmp_path) as agents:
        await_assignments(3, tmp_path, timeout_s=60)
        jobs = {f"crash-{p}": f"proj-{p}" for p in range(PROJECTS)}
        publish(settings, kafka_bootstrap, wide_routes, *(storyboard(job, project, scenes=SCENES) for job, project in jobs.items()))
        victim = _a_busy_agent(agents, log, timeout_s=60)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        seen = collect(settings, wide_routes, kafka_bootstrap, ended(set(jobs)), timeout_s=90)

    ready = Counter((e.job_id, e.scene_id) for _, e in seen if isinstance(e, ImageReady))
    assert ready == Counter({(job, f"s{i}"): 1 for job in jobs for i in range(SCENES)})  # each exactly once
    batches = Counter(e.job_id for _, e in seen if isinstance(e, BatchCompleted))
    assert batches == Counter(set(jobs))
    renders = render_log(log)
    assert {pid for pid, _, _ in renders} >= {victim.pid}
    assert PROJECTS * SCENES <= len(renders) <= PROJECTS * SCENES + IN_HAND
    per_scene = Counter((tag, scene) for _, tag, scene in renders)
    assert max(per_scene.values()) <= 2  # at most the one render the victim never published
    for (tag, scene), count in per_scene.items():
        if count == 2:  # the re-render must follow a render by the victim, never a published one by a survivor
            assert [pid for pid, t, s in renders if (t, s) == (tag, scene)][0] == victim.pid


def _a_busy_agent(agents: list[subprocess.Popen], log: Path, timeout_s: float) -> subprocess.Popen:
    """An agent that has rendered scenes and still has storyboards in hand."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = Counter(pid for pid, _, _ in render_log(log))
        for agent in agents:
            if counts.get(agent.pid, 0) >= 3:
                return agent
        time.sleep(0.05)
    raise AssertionError("no agent rendered 3 scenes in time")
