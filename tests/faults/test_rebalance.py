"""Rebalances while work is in hand: a second agent joins during a long render (cooperative
rebalance: the partitions that move are handed over, a step still rendering for them is discarded
and redone by the new owner), and agents join and leave again and again under steady traffic."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import ImageReady
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import make_routes
from tests.helpers.scripted_renderer import ScriptedRenderer, render_log

pytestmark = pytest.mark.kafka
PARTITIONS = 6
ROUNDS = 3


@pytest.fixture
def routes(unique_topic: Callable[..., str]) -> AgentRoutes:
    return make_routes(unique_topic, PARTITIONS)


def _await(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s:g}s"
        time.sleep(0.05)


def test_an_agent_joining_during_a_long_render_takes_over_without_loss_or_duplicates(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    log = tmp_path / "renders.log"
    first = start_agent(ScriptedRenderer(log, default_delay_s=1.2))
    _await(lambda: first.agent.counters["assigned"] >= 1, 60, "the first assignment")
    submitted = [storyboard(f"long-{p}", f"proj-{p}", scenes=4) for p in range(6)]
    publish(settings, kafka_bootstrap, routes, *submitted)
    _await(lambda: len(render_log(log)) >= 4 and first.agent.renders.in_flight > 0, 60, "a render in flight")
    second = start_agent(ScriptedRenderer(log, default_delay_s=0.2))
    seen = collect(settings, routes, kafka_bootstrap, all_ended(submitted), timeout_s=120)
    first.stop()
    second.stop()
    assert first.agent.counters["revoked"] >= 1 and second.agent.counters["rendered_steps"] >= 1  # work moved
    assert set(assert_accounted(seen, submitted).values()) == {"completed"}
    renders = Counter((tag, scene) for _, tag, scene in render_log(log))
    assert sum(renders.values()) <= 24 + 2 * 4  # at most the two batches in hand are redone
    assert sum(isinstance(e, ImageReady) for _, e in seen) == 24


def test_agents_joining_and_leaving_again_and_again_lose_nothing(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    log = tmp_path / "renders.log"
    steady = start_agent(ScriptedRenderer(log, default_delay_s=0.1))
    _await(lambda: steady.agent.counters["assigned"] >= 1, 60, "the first assignment")
    submitted = [storyboard(f"churn-{i}", f"proj-{i % 9}", scenes=3) for i in range(12 + 6 * ROUNDS)]
    publish(settings, kafka_bootstrap, routes, *submitted[:12])
    for round_ in range(ROUNDS):  # one joins, works a little, leaves (SIGTERM path); traffic keeps coming
        visitor = start_agent(ScriptedRenderer(log, default_delay_s=0.1))
        _await(lambda: bool(visitor.agent.assigned), 60, "the visitor's partitions")
        publish(settings, kafka_bootstrap, routes, *submitted[12 + 6 * round_: 18 + 6 * round_])
        time.sleep(0.5)
        visitor.stop()
    seen = collect(settings, routes, kafka_bootstrap, all_ended(submitted), timeout_s=120)
    steady.stop()
    assert steady.agent.counters["revoked"] >= 2 and steady.agent.counters["assigned"] >= ROUNDS + 1  # partitions moved
    assert steady.agent.counters["completed"] < len(submitted)  # and the visitors finished some of the work
    assert set(assert_accounted(seen, submitted).values()) == {"completed"}
