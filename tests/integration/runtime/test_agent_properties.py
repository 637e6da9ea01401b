"""Property: whatever the interleaving of projects and requests, the render times, and an agent
restart in the middle, every project's outcomes come in request order, a read_committed
subscriber sees no duplicate, and every request is accounted for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import make_routes
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka

requests_strategy = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 3), st.sampled_from([0.0, 0.01, 0.05])),  # project, scenes, delay
    min_size=4,
    max_size=12,
)


@hypothesis_settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True)
@given(plan=requests_strategy, restart_after=st.integers(0, 6))
def test_order_no_duplicates_and_accounting_hold_across_a_restart(
    plan: list[tuple[int, int, float]],
    restart_after: int,
    settings: Settings,
    kafka_bootstrap: str,
    unique_topic: Callable[..., str],
    start_agent: Callable[..., RunningAgent],
    tmp_path: Path,
) -> None:
    routes = make_routes(unique_topic, partitions=2)
    jobs = [(f"j{i}", f"proj-{project}", scenes, delay) for i, (project, scenes, delay) in enumerate(plan)]
    first = start_agent(ScriptedRenderer(), on=routes)
    publish(settings, kafka_bootstrap, routes, *(storyboard(job, project, scenes, extra=f"slow={delay}") for job, project, scenes, delay in jobs))
    collect(settings, routes, kafka_bootstrap, lambda seen: sum(isinstance(e, ImageReady) for _, e in seen) >= restart_after)
    first.stop()
    second = start_agent(ScriptedRenderer(), on=routes)
    seen = collect(settings, routes, kafka_bootstrap, ended({job for job, *_ in jobs}))
    second.stop()

    for project in {p for _, p, _, _ in jobs}:
        wanted = [job for job, p, _, _ in jobs if p == project]
        assert [e.job_id for _, e in seen if isinstance(e, BatchCompleted) and e.project_id == project] == wanted
        scenes = [(e.job_id, e.scene_id) for _, e in seen if isinstance(e, ImageReady) and e.project_id == project]
        assert scenes == [(job, f"s{i}") for job, p, n, _ in jobs if p == project for i in range(n)]
    assert max(Counter((e.job_id, getattr(e, "scene_id", "")) for _, e in seen if isinstance(e, (ImageReady, BatchCompleted))).values()) == 1
    counters = Counter(first.agent.counters) + Counter(second.agent.counters)
    assert counters["completed"] == len(jobs)  # the second agent finished what the first left
