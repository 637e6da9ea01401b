"""A render that lasts more than twice ``max.poll.interval.ms`` (set low: 6 s, the broker's least
session timeout) while a second agent shares the group: the loop keeps polling while the render
thread works, so the group sees no missed poll, nothing is rebalanced, and the job completes once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect_to_end
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.scripted_renderer import ScriptedRenderer, render_log

pytestmark = pytest.mark.kafka
MAX_POLL_INTERVAL_MS = 6_000
RENDER_S = 2 * MAX_POLL_INTERVAL_MS / 1000 + 1.5


def test_a_render_longer_than_twice_max_poll_interval_completes_once_without_a_rebalance(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    settings.worker.max_poll_interval_ms = MAX_POLL_INTERVAL_MS
    settings.worker.session_timeout_ms = MAX_POLL_INTERVAL_MS
    log = tmp_path / "renders.log"
    agents = [start_agent(ScriptedRenderer(log)), start_agent(ScriptedRenderer(log))]
    deadline = time.monotonic() + 60
    while not (all(a.agent.assigned for a in agents) and sum(len(a.agent.health.partitions) for a in agents) == 3):
        assert time.monotonic() < deadline, "the two agents did not share the partitions within 60s"
        time.sleep(0.1)
    time.sleep(2)  # the group settles: later assignment changes would be rebalances the long render caused
    settled = [(a.agent.counters["assigned"], a.agent.counters["revoked"]) for a in agents]
    long = storyboard("long", "proj-l", scenes=2, extra=f"slow={RENDER_S}")
    others = [image(f"quick-{i}", f"proj-q{i}") for i in range(6)]
    publish(settings, kafka_bootstrap, routes, long, *others)
    seen = collect_to_end(settings, routes, kafka_bootstrap, all_ended([long, *others]), timeout_s=2 * RENDER_S + 60, settle_s=1)
    after = [(a.agent.counters["assigned"], a.agent.counters["revoked"]) for a in agents]
    for a in agents:
        a.stop()

    assert set(assert_accounted(seen, [long, *others]).values()) == {"completed"}
    assert after == settled, f"the group rebalanced during the long render: (assigned, revoked) {settled} -> {after}"
    renders = Counter((tag, scene) for _, tag, scene in render_log(log))
    assert renders[("long-s0", "s0")] == 1 and renders[("long-s1", "s1")] == 1, renders  # each long scene rendered once
    assert sum(isinstance(e, ImageReady) and e.job_id == "long" for _, e in seen) == 2
    assert sum(isinstance(e, BatchCompleted) and e.job_id == "long" for _, e in seen) == 1
