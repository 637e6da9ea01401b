"""A rebalance storm: 500 requests over 50 projects published steadily while agents join and leave
every few seconds (a fifth of them storyboards; each visitor takes partitions, renders, and leaves by the SIGTERM path; the
next one joins while the last is still handing over). Nothing is lost, nothing is shown twice,
every project's outcomes come in request order, and no agent dies."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect_to_end
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.routes import make_routes
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka
REQUESTS, PROJECTS, PARTITIONS = 500, 50, 6
CYCLES = int(os.environ.get("MEDIA_STREAM_FAULTS_STORM_CYCLES", "6"))
CYCLE_S = 3.0  # a visitor stays this long; the next joins half-way through


@pytest.fixture
def routes(unique_topic: Callable[..., str]) -> AgentRoutes:
    return make_routes(unique_topic, PARTITIONS)


def test_agents_joining_and_leaving_through_a_500_request_load_lose_and_repeat_nothing(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    settings.worker.session_timeout_ms = 10_000
    renderer = lambda: ScriptedRenderer(default_delay_s=0.03)  # noqa: E731
    steady = start_agent(renderer())
    deadline = time.monotonic() + 60
    while not steady.agent.assigned:
        assert time.monotonic() < deadline, "the steady agent got no partitions within 60s"
        time.sleep(0.1)
    # every fifth request a storyboard of three scenes: work in hand when partitions move
    submitted = [storyboard(f"storm-{i}", f"proj-{i % PROJECTS}", scenes=3) if i % 5 == 4 else image(f"storm-{i}", f"proj-{i % PROJECTS}") for i in range(REQUESTS)]
    chunks = CYCLES * 2
    per_chunk = -(-REQUESTS // chunks)

    def publish_steadily() -> None:
        for c in range(chunks):
            publish(settings, kafka_bootstrap, routes, *submitted[c * per_chunk:(c + 1) * per_chunk])
            time.sleep(CYCLE_S / 2)

    publisher = threading.Thread(target=publish_steadily, name="storm-publisher", daemon=True)
    publisher.start()
    visitors: list[RunningAgent] = []
    leaving: list[threading.Thread] = []
    for _ in range(CYCLES):
        visitor = start_agent(renderer())
        visitors.append(visitor)
        time.sleep(CYCLE_S / 2)
        if len(visitors) >= 2:  # the one before leaves while this one is joining
            leaving.append(threading.Thread(target=visitors[-2].stop, daemon=True))
            leaving[-1].start()
        time.sleep(CYCLE_S / 2)
    publisher.join(120)
    leaving.append(threading.Thread(target=visitors[-1].stop, daemon=True))
    leaving[-1].start()
    seen = collect_to_end(settings, routes, kafka_bootstrap, all_ended(submitted), timeout_s=240, settle_s=1)
    for thread in leaving:
        thread.join(90)
    steady_alive = steady.thread.is_alive()
    steady.stop()

    moved = sum(v.agent.counters["completed"] for v in visitors)
    print(f"storm: {CYCLES} visitors, revocations {[a.agent.counters['revoked'] for a in [steady, *visitors]]}, visitors completed {moved} of {REQUESTS}")
    assert steady_alive and not steady.errors
    assert not any(v.thread.is_alive() for v in visitors), "a visitor did not leave"
    dead = [v.errors for v in visitors if v.errors]
    assert not dead, f"visitors died: {dead}"
    assert set(assert_accounted(seen, submitted, strict_order=True).values()) == {"completed"}
    revocations = sum(a.agent.counters["revoked"] for a in [steady, *visitors])
    assert revocations >= CYCLES // 2 and moved > 0, f"the storm moved too little: {revocations} revocations, {moved} requests done by visitors"
