"""Property: whatever the interleaving of requests, renders and SIGKILLs, with two agent processes
handing partitions over (a killed agent is replaced at once, as a deployment restarts it), every
request ends exactly once, no scene is shown twice and each project's order holds.

Hypothesis draws each example: a few storyboards (1-3 scenes) over 1-3 projects, and up to two
faults, each at a render count of the example, on the agent that rendered last ("owner") or the
other one: a SIGKILL, or a pause (SIGSTOP past the session timeout, then SIGCONT: a zombie). The agents run on a broker of the test's own that allows short session timeouts
(2 s, heartbeats every 0.5 s) and aborts a dead producer's transaction (5 s, longer than a
pause) within ~6 s, so a handover
takes seconds and an example a few. The topics and the broker are shared by the examples (each
has its own job ids and projects). 25 examples by default; ``--long`` (or
``MEDIA_STREAM_FAULTS_LONG=1``) runs 200.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from media_stream.config import Settings
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.faults.own_broker import own_kafka
from tests.helpers.agents import agent_spec, spawn_agent, stop_agents
from tests.helpers.outcomes import collect_to_end
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import routes_on
from tests.helpers.scripted_renderer import render_log

pytestmark = pytest.mark.kafka
LONG = os.environ.get("MEDIA_STREAM_FAULTS_LONG", "") not in ("", "0")
EXAMPLES = 200 if LONG else 25
SESSION_TIMEOUT_MS = 2_000
FAST_FAILOVER = {
    "group.min.session.timeout.ms": 1_000,
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 1_000,
}


@dataclass
class Pool:
    """Two agent processes; a killed one is replaced by a fresh process at once, a paused one
    resumes (under its own supervisor, which restarts its agent if it lost its partitions)."""

    spec: dict[str, Any]
    logs: Path
    agents: list[subprocess.Popen[bytes]] = field(default_factory=list)
    spawned: count = field(default_factory=count)
    kills: int = 0
    pauses: int = 0

    def spawn(self) -> subprocess.Popen[bytes]:
        agent = spawn_agent(self.spec, self.logs / f"agent-{next(self.spawned)}.log")
        self.agents.append(agent)
        return agent

    def kill(self, agent: subprocess.Popen[bytes]) -> None:
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait(10)
        self.agents.remove(agent)
        self.kills += 1
        self.spawn()

    def pause(self, agent: subprocess.Popen[bytes], seconds: float) -> None:
        os.kill(agent.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(agent.pid, signal.SIGCONT)
        self.pauses += 1

    def close(self) -> None:
        stop_agents(self.agents)


@dataclass
class Harness:
    settings: Settings
    bootstrap: str
    routes: AgentRoutes
    pool: Pool
    render_log: Path
    examples: count = field(default_factory=count)
    figures: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    root = tmp_path_factory.mktemp("kill-properties")
    settings = Settings(storage={"root": root / "storage"})
    with own_kafka(root / "kafka", properties=FAST_FAILOVER) as broker:
        bootstrap = broker.bootstrap
        assert bootstrap
        routes = routes_on(bootstrap)
        spec = agent_spec(bootstrap, routes, root, delay_s=0.05, session_timeout_ms=SESSION_TIMEOUT_MS, transaction_timeout_ms=5_000, heartbeat_interval_ms=500, supervised=True)
        pool = Pool(spec, root)
        try:
            for _ in range(2):
                pool.spawn()
            deadline = time.monotonic() + 120
            while sum("assigned [" in p.read_text(errors="replace") for p in root.glob("agent-*.log")) < 2:
                assert time.monotonic() < deadline, "the two agents did not join within 120s"
                time.sleep(0.2)
            harness = Harness(settings, bootstrap, routes, pool, root / "renders.log")
            yield harness
            print(f"kill properties: {len(harness.figures)} examples, {pool.kills} SIGKILLs, {pool.pauses} pauses, "
                  f"{sum(f['requests'] for f in harness.figures)} requests, {sum(f['scenes'] for f in harness.figures)} scenes")
        finally:
            pool.close()


def _await(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


jobs_strategy = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=4)  # (project, scenes)
kills_strategy = st.lists(st.tuples(st.integers(0, 12), st.sampled_from(["owner", "other"]), st.sampled_from(["kill", "pause"])), max_size=2)  # (at render, whom, fault)
PAUSE_S = SESSION_TIMEOUT_MS / 1000 + 1.5


@hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(jobs=jobs_strategy, kills=kills_strategy)
def test_sigkills_and_pauses_at_random_points_with_two_agents_handing_over_keep_every_invariant(harness: Harness, jobs: list[tuple[int, int]], kills: list[tuple[int, str, str]]) -> None:
    n = next(harness.examples)
    submitted = [storyboard(f"ex{n}-j{i}", f"ex{n}-p{project}", scenes=scenes) for i, (project, scenes) in enumerate(jobs)]
    total = sum(scenes for _, scenes in jobs)
    renders = lambda: [pid for pid, tag, _ in render_log(harness.render_log) if tag.startswith(f"ex{n}-")]  # noqa: E731
    publish(harness.settings, harness.bootstrap, harness.routes, *submitted)
    for at, whom, fault in sorted(kills):
        at = min(at, total)
        if not _await(lambda: len(renders()) >= at, 30):
            break  # the work ended (or stalled) before this kill: the invariant below says which
        last = renders()[-1] if renders() else None
        alive = [a for a in harness.pool.agents if a.poll() is None]
        owner = next((a for a in alive if a.pid == last), alive[0])
        victim = owner if whom == "owner" else next((a for a in alive if a is not owner), owner)
        if fault == "kill":
            harness.pool.kill(victim)
        else:
            harness.pool.pause(victim, PAUSE_S)
    seen = collect_to_end(harness.settings, harness.routes, harness.bootstrap, all_ended(submitted), timeout_s=90, settle_s=1.0)
    assert set(assert_accounted(seen, submitted, scenario="kill properties").values()) == {"completed"}
    harness.figures.append({"requests": len(submitted), "scenes": total, "faults": len(kills)})
