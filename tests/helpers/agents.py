"""Agents under test: on a thread (``RunningAgent``, started by the ``start_agent`` fixture) or in
processes of their own (``tests.helpers.agent_process``, one entry point) for the tests that kill
one, started and stopped (one teardown) by ``agent_processes``."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_stream.config import PROJECT_ROOT
from media_stream.runtime.agent import Agent
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.scripted_renderer import render_log


@dataclass
class RunningAgent:
    """An agent on a thread of the test process."""

    agent: Agent
    thread: threading.Thread
    errors: list[BaseException]

    def stop(self, timeout_s: float = 60.0) -> None:
        self.agent.stopping.set()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), f"the agent did not stop within {timeout_s:g}s"
        assert not self.errors, f"the agent failed: {self.errors!r}"


def agent_spec(bootstrap: str, routes: AgentRoutes, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """The SPEC of one ``tests.helpers.agent_process``; an ``extra`` of None leaves that setting at its default."""
    spec = {
        "bootstrap": bootstrap,
        "routes": dataclasses.asdict(routes),
        "group": f"agents-{routes.requests}",
        "storage_root": str(tmp_path / "storage"),
        "render_log": str(tmp_path / "renders.log"),
        "delay_s": 0.2,
        "session_timeout_ms": 6_000,  # the group notices a killed agent after this
        "transaction_timeout_ms": 6_000,  # and the broker aborts its open transaction after this
        **extra,
    }
    return {key: value for key, value in spec.items() if value is not None}


def spawn_agent(spec: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    """One ``tests.helpers.agent_process`` process, its output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tests.helpers.agent_process", json.dumps(spec)], cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)


@contextmanager
def agent_processes(specs: list[dict[str, Any]], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start one process per spec; at the end SIGTERM the living ones (SIGKILL after 60 s)."""
    agents = []
    try:
        for i, spec in enumerate(specs):
            agents.append(spawn_agent(spec, logs / f"agent-{i}.log"))
        yield agents
    finally:
        stop_agents(agents)


def stop_agents(agents: list[subprocess.Popen[bytes]]) -> None:
    """The one teardown of agent processes: SIGTERM the living ones, SIGKILL any still there after 60 s."""
    for agent in agents:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
    for agent in agents:
        try:
            agent.wait(60)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(10)


def await_assignments(count: int, logs: Path, timeout_s: float = 90) -> None:
    """Until ``count`` agent logs say they were assigned partitions."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum("assigned [" in (logs / f"agent-{i}.log").read_text(errors="replace") for i in range(count)) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{count} agents did not all get partitions within {timeout_s:g}s")


def await_renders(agent: subprocess.Popen[bytes], log: Path, at_least: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if Counter(pid for pid, _, _ in render_log(log)).get(agent.pid, 0) >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"agent {agent.pid} did not render {at_least} scenes in {timeout_s:g}s")


def await_file(path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"{path.name} did not appear within {timeout_s:g}s"


def restarts(logs: Path, index: int) -> int:
    """How often a supervised agent process (``supervised`` in its spec) rebuilt its agent after an error."""
    return (logs / f"agent-{index}.log").read_text(errors="replace").count("agent stopped with")


def renders_of(log: Path, job: str) -> list[tuple[int, str]]:
    """(pid, scene id) of each render of a storyboard ``job`` (its scenes' prompts are "<job>-s<i>")."""
    return [(pid, scene) for pid, tag, scene in render_log(log) if tag.startswith(f"{job}-s")]
