"""Scale-out on one machine: agent PROCESSES in one group over 12 partitions, rendering with the
"hold" stand-in (each batch sleeps, standing in for a GPU, so throughput can scale on 2 cores).

1. Throughput grows with agents: 2 and 4 agents clearly beat 1, with every job completed exactly
   once and each project's jobs in request order.
2. Membership changes mid-run lose and duplicate nothing and keep per-project order: an agent
   joins, one leaves with SIGTERM (it drains, exits 0) and one dies with SIGKILL (its transaction
   is aborted; the survivors redo its work from the committed state).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.bench.scale import AgentGroup, CompletionWatch, check_delivery, measure, request_messages, send
from media_stream.config import Settings
from tests.helpers.routes import make_routes

pytestmark = pytest.mark.kafka
PARTITIONS = 12
PROJECTS = 48  # four per partition


@pytest.fixture
def settings() -> Settings:
    return Settings()


def test_throughput_scales_with_agent_processes(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str], tmp_path: Path) -> None:
    rates = {}
    for agents in (1, 2, 4):
        routes = make_routes(unique_topic, PARTITIONS)
        per_project = 2 * agents  # about 6 s of work at the agents' ceiling, whatever their number
        result = measure(settings, kafka_bootstrap, routes, agents, tmp_path, hold_s=0.25, max_batch_size=4, projects=PROJECTS, per_project=per_project)
        assert result["requests"] == PROJECTS * per_project
        assert (result["lost"], result["duplicated"], result["unexpected"], result["out_of_order_projects"]) == ([], [], [], []), result
        rates[agents] = result["requests_per_s"]
    # One agent's ceiling is 4 / 0.25 = 16 requests/s. The hold is a sleep, so agents scale on 2
    # cores; the margins absorb Kafka's fixed latency and a loaded machine.
    assert rates[2] >= 1.5 * rates[1], rates
    assert rates[4] >= 2.5 * rates[1], rates
    assert rates[4] > rates[2], rates


def test_no_loss_duplicates_or_reordering_when_agents_join_and_leave(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str], tmp_path: Path) -> None:
    routes = make_routes(unique_topic, PARTITIONS)
    run, per_project = "churn", 6
    messages = request_messages(settings, routes, PROJECTS, per_project, run)
    with AgentGroup(kafka_bootstrap, routes, tmp_path, hold_s=0.25, max_batch_size=2, session_timeout_ms=6_000) as group:
        leaver, victim, stayer = group.start(3)
        group.wait_balanced()
        watch = CompletionWatch(settings, kafka_bootstrap, routes)
        try:
            send(settings, kafka_bootstrap, messages)  # 288 requests: ~12 s for three agents at 2 / 0.25 = 8 requests/s each
            (joiner,) = group.start(1)
            _wait_until(lambda: joiner.readiness()[1] != [], 60, "the joining agent got no partitions")
            done_at_join = len(watch.completed())
            leaver.process.send_signal(signal.SIGTERM)
            assert leaver.process.wait(60) == 0  # drained: finished the batch in hand, committed, left
            time.sleep(1.0)
            os.kill(victim.pid, signal.SIGKILL)
            victim.process.wait(10)
            done_at_kill = len(watch.completed())
            watch.wait_for(len(messages), timeout_s=120)
            time.sleep(1.0)  # a duplicate, were there one, would arrive after the last original
            completed = [job for _, job in watch.completed()]
        finally:
            watch.close()

    assert done_at_join < len(messages) and done_at_kill < len(messages), "the membership changes came after the work was done"
    delivery = check_delivery(run, PROJECTS, per_project, completed)
    assert delivery == {"lost": [], "duplicated": [], "unexpected": [], "out_of_order_projects": []}
    ended_by = _jobs_completed_per_agent(group)
    assert ended_by[joiner.log.name] > 0, ended_by  # the joiner took partitions and finished work
    assert ended_by[victim.log.name] > 0, ended_by  # the victim was working when it died
    assert sum(ended_by.values()) >= len(messages)  # jobs the victim ended but never committed are redone


def _jobs_completed_per_agent(group: AgentGroup) -> Counter[str]:
    """'job ... completed' lines of each agent's JSON log (with the job's fields)."""
    ended: Counter[str] = Counter()
    for agent in group.agents:
        for line in agent.log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("status") == "completed" and entry.get("jobId") and entry.get("topic"):
                ended[agent.log.name] += 1
    return ended


def _wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout_s:g}s")
