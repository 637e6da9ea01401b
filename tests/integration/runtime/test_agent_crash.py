"""Three agent processes in one group over 12 partitions; one is killed with SIGKILL mid-storyboard.

The survivors take over its partitions, restore the progress it committed, and finish. A
read_committed subscriber sees each scene's ImageReady exactly once, and finished scenes are not
rendered again: renders exceed scenes only by the batches the killed agent had in hand.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import PROJECT_ROOT, Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from media_stream.runtime.routes import AgentRoutes
from tests.integration.runtime.conftest import collect, make_routes
from tests.helpers.scripted_renderer import render_log
from tests.integration.runtime.test_agent_semantics import ended, publish, storyboard

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
    spec = {
        "bootstrap": kafka_bootstrap,
        "routes": dataclasses.asdict(wide_routes),
        "group": f"agents-{wide_routes.requests}",
        "storage_root": str(tmp_path / "storage"),
        "render_log": str(log),
        "delay_s": 0.25,
        "session_timeout_ms": 6_000,  # the group notices the killed agent after this
    }
    agents = []
    for i in range(3):
        out = open(tmp_path / f"agent-{i}.log", "wb")
        agents.append(subprocess.Popen([sys.executable, "-m", "tests.helpers.agent_process", json.dumps(spec)], cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT))
    try:
        _await_group_of(3, tmp_path, timeout_s=60)
        jobs = {f"crash-{p}": f"proj-{p}" for p in range(PROJECTS)}
        publish(settings, kafka_bootstrap, wide_routes, *(storyboard(job, project, scenes=SCENES) for job, project in jobs.items()))
        victim = _a_busy_agent(agents, log, timeout_s=60)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        seen = collect(settings, wide_routes, kafka_bootstrap, ended(set(jobs)), timeout_s=90)
    finally:
        for agent in agents:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
        for agent in agents:
            try:
                agent.wait(60)
            except subprocess.TimeoutExpired:
                agent.kill()

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


def _await_group_of(count: int, logs: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assigned = sum("assigned [" in (logs / f"agent-{i}.log").read_text(errors="replace") for i in range(count))
        if assigned >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{count} agents did not all get partitions within {timeout_s:g}s")


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
