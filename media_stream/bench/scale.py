"""Scale-out on one machine: 1, 2 and 4 agent processes in one consumer group over 12 partitions,
each rendering with the "hold" stand-in (every batch holds ``hold_s``: a sleep standing in for
the GPU), so an agent's ceiling is ``max_batch_size / hold_s`` requests per second and N agents
should reach N times that.

A run: fresh topics, N agent processes (``bench/scale_agent.py``) started and waited for until
their /healthz/ready answers show the 12 partitions spread over all of them, then
``projects x per_project`` ImageRequested sent at once (project p on partition p mod 12, so every
agent gets the same share), timed until the last BatchCompleted is visible to a read_committed
reader. The same reader checks delivery: every job's BatchCompleted exactly once, each project's
in the order its requests were sent. ``AgentGroup`` and ``check_delivery`` are also what the
scale-out test uses (tests/integration/scale/).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_stream.config import PROJECT_ROOT, Settings
from media_stream.domain.requests import ImageRequested
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import EventProducer
from media_stream.observability.tracing import new_traceparent
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder

PARTITIONS = 12


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class AgentProcess:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def readiness(self) -> tuple[bool, list[int]]:
        """(ready, partitions) from its /healthz/ready; (False, []) while it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz/ready", timeout=2) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        except (OSError, ValueError):
            return False, []
        return bool(body.get("ready")), list(body.get("checks", {}).get("assignment", {}).get("partitions", []))

    def cpu_s(self) -> float:
        """User + system CPU seconds so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class AgentGroup:
    """Agent processes of one consumer group on ``routes``; closed with SIGTERM (then SIGKILL)."""

    bootstrap: str
    routes: AgentRoutes
    workdir: Path
    hold_s: float = 0.25
    max_batch_size: int = 4
    session_timeout_ms: int = 6_000
    group: str = field(default_factory=lambda: f"scale-{uuid.uuid4().hex[:8]}")
    agents: list[AgentProcess] = field(default_factory=list)

    def start(self, count: int = 1) -> list[AgentProcess]:
        started = []
        for _ in range(count):
            port = free_port()
            spec = {
                "bootstrap": self.bootstrap, "routes": dataclasses.asdict(self.routes), "group": self.group, "port": port,
                "hold_s": self.hold_s, "max_batch_size": self.max_batch_size, "session_timeout_ms": self.session_timeout_ms,
            }
            log = self.workdir / f"agent-{len(self.agents)}.log"
            with open(log, "wb") as out:
                process = subprocess.Popen([sys.executable, "-m", "media_stream.bench.scale_agent", json.dumps(spec)], cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
            agent = AgentProcess(process, port, log)
            self.agents.append(agent)
            started.append(agent)
        return started

    def live(self) -> list[AgentProcess]:
        return [a for a in self.agents if a.alive()]

    def wait_balanced(self, timeout_s: float = 90.0) -> dict[int, list[int]]:
        """Until every live agent is ready and the partitions are spread evenly over them."""
        deadline = time.monotonic() + timeout_s
        shares: dict[int, list[int]] = {}
        while time.monotonic() < deadline:
            answers = {a.pid: a.readiness() for a in self.live()}
            shares = {pid: parts for pid, (_, parts) in answers.items()}
            counts = [len(p) for p in shares.values()]
            every = sorted(p for parts in shares.values() for p in parts)
            if answers and all(ok for ok, _ in answers.values()) and every == list(range(PARTITIONS)) and max(counts) - min(counts) <= 1:
                return shares
            time.sleep(0.2)
        dead = [a.log.name for a in self.agents if not a.alive()]
        raise TimeoutError(f"agents not balanced over {PARTITIONS} partitions within {timeout_s:g}s: {shares} (exited: {dead})")

    def cpu_s(self) -> float:
        return sum(a.cpu_s() for a in self.live())

    def close(self) -> None:
        for agent in self.live():
            agent.process.send_signal(signal.SIGTERM)
        for agent in self.agents:
            try:
                agent.process.wait(60)
            except subprocess.TimeoutExpired:
                agent.process.kill()
                agent.process.wait(10)

    def __enter__(self) -> AgentGroup:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def request_messages(settings: Settings, routes: AgentRoutes, projects: int, per_project: int, run: str) -> list[OutgoingMessage]:
    """``per_project`` ImageRequested per project, each project's in sequence; project p on partition p mod 12."""
    encoder = EventEncoder(EventCodec.from_settings(settings))
    out = []
    for seq in range(per_project):
        for p in range(projects):
            project = f"proj-{run}-{p}"
            event = ImageRequested(f"r-{run}-{p}-{seq}", job_id(run, p, seq), project, prompt=f"scene {seq} of {project}", width=64, height=64, seed=seq)
            out.append(dataclasses.replace(encoder.message(routes.requests, project, event, new_traceparent()), partition=p % PARTITIONS))
    return out


def job_id(run: str, project: int, seq: int) -> str:
    return f"j-{run}-{project}-{seq}"


def send(settings: Settings, bootstrap: str, messages: Iterable[OutgoingMessage]) -> None:
    producer = EventProducer(settings, bootstrap)
    try:
        for message in messages:
            producer.send(message)
        producer.flush()
    finally:
        producer.close()


class CompletionWatch:
    """BatchCompleted as a read_committed reader sees them: (when visible, jobId) in arrival order."""

    def __init__(self, settings: Settings, bootstrap: str, routes: AgentRoutes) -> None:
        from media_stream.bench.pipeline import _Watcher

        assert routes.batch_completed, "the routes have no batch_completed topic"
        self.codec = EventCodec.from_settings(settings)
        self.watcher = _Watcher(settings, bootstrap, routes.batch_completed)

    def wait_for(self, count: int, timeout_s: float) -> None:
        self.watcher.wait_for(count, timeout_s)

    def completed(self) -> list[tuple[float, str]]:
        return [(t, self.codec.decode(value).value["jobId"]) for t, value in list(self.watcher.seen)]

    def close(self) -> None:
        self.watcher.close()


def check_delivery(run: str, projects: int, per_project: int, completed: list[str]) -> dict[str, Any]:
    """Lost and duplicated jobs, and projects whose jobs completed out of request order."""
    expected = {job_id(run, p, s) for p in range(projects) for s in range(per_project)}
    counts = Counter(completed)
    order: dict[str, list[int]] = {}
    for job in dict.fromkeys(completed):  # first completion of each
        _, _, project, seq = job.rsplit("-", 3)
        order.setdefault(project, []).append(int(seq))
    return {
        "lost": sorted(expected - counts.keys()),
        "duplicated": sorted(j for j, n in counts.items() if n > 1),
        "unexpected": sorted(counts.keys() - expected),
        "out_of_order_projects": sorted(p for p, seqs in order.items() if seqs != sorted(seqs)),
    }


def measure(
    settings: Settings, bootstrap: str, routes: AgentRoutes, agents: int, workdir: Path,
    hold_s: float, max_batch_size: int, projects: int, per_project: int,
) -> dict[str, Any]:
    """Requests per second of ``agents`` processes on fresh ``routes``, and the delivery check."""
    run = uuid.uuid4().hex[:6]
    messages = request_messages(settings, routes, projects, per_project, run)
    with AgentGroup(bootstrap, routes, workdir, hold_s, max_batch_size) as group:
        group.start(agents)
        group.wait_balanced()
        watch = CompletionWatch(settings, bootstrap, routes)
        try:
            cpu_before = group.cpu_s()
            started = time.monotonic()
            send(settings, bootstrap, messages)
            watch.wait_for(len(messages), timeout_s=60 + 4 * len(messages) * hold_s / max_batch_size)
            seen = watch.completed()
            cpu = group.cpu_s() - cpu_before
        finally:
            watch.close()
    times = sorted(t for t, _ in seen)
    elapsed = times[-1] - started
    tenth, ninetieth = times[len(times) // 10], times[(len(times) * 9) // 10]
    return {
        "agents": agents,
        "requests": len(messages),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(messages) / elapsed, 2),
        # the rate between the 10th and 90th percentile completions: without the start (first fetch,
        # first batch) and the tail (last transaction, a last partly filled batch)
        "steady_requests_per_s": round((len(times) * 8 // 10) / max(ninetieth - tenth, 1e-6), 2),
        "agent_cpu_s_per_request": round(cpu / len(messages), 4),
        **check_delivery(run, projects, per_project, [job for _, job in seen]),
    }


def scale_benchmark(
    settings: Settings, counts: tuple[int, ...] = (1, 2, 4), hold_s: float = 0.25, max_batch_size: int = 4, projects: int = 48, seconds_at_one: float = 12.0,
) -> dict[str, Any]:
    """Each agent count gets work for about ``seconds_at_one`` seconds at its ceiling (N x one agent's)."""
    from media_stream.bench.pipeline import _topics
    from media_stream.dev.local_kafka import LocalKafka
    from media_stream.kafka.admin import TopicAdmin

    ceiling = max_batch_size / hold_s  # requests/s of one agent that never waits on Kafka
    runs = []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="media-stream-scale-")))
        bootstrap = settings.kafka.bootstrap_servers
        if not bootstrap:
            local = settings.model_copy(update={"local_kafka": settings.local_kafka.model_copy(update={"port": 0})})
            broker = LocalKafka(local, data_dir=work / "kafka")
            bootstrap = broker.start().bootstrap
            stack.callback(broker.stop)
        admin = TopicAdmin(settings, bootstrap)
        for agents in counts:
            per_project = max(1, round(seconds_at_one * ceiling * agents / projects))  # each run lasts about as long
            routes = _topics(admin, uuid.uuid4().hex[:8])
            print(f"{agents} agent(s): {projects * per_project} requests, hold {hold_s:g}s per batch of up to {max_batch_size}", file=sys.stderr)
            try:
                runs.append(measure(settings, bootstrap, routes, agents, work, hold_s, max_batch_size, projects, per_project))
            finally:
                admin.delete(_topic_names(routes))
            print(f"  {runs[-1]['requests_per_s']} requests/s", file=sys.stderr)
    one = runs[0]["requests_per_s"] / counts[0]
    steady_one = runs[0]["steady_requests_per_s"] / counts[0]
    for run in runs:
        run["speedup"] = round(run["requests_per_s"] / runs[0]["requests_per_s"], 3)
        run["efficiency"] = round(run["requests_per_s"] / (one * run["agents"]), 3)
        run["steady_efficiency"] = round(run["steady_requests_per_s"] / (steady_one * run["agents"]), 3)
        run["efficiency_vs_ceiling"] = round(run["requests_per_s"] / (ceiling * run["agents"]), 3)
    return {
        "benchmark": "scale",
        "partitions": PARTITIONS,
        "hold_s": hold_s,
        "max_batch_size": max_batch_size,
        "projects": projects,
        "ceiling_per_agent_requests_per_s": ceiling,
        "runs": runs,
        "efficiency_at_max": runs[-1]["efficiency"],
        "steady_efficiency_at_max": runs[-1]["steady_efficiency"],
        "goal_efficiency": 0.9,
        "cpu_cores": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _topic_names(routes: AgentRoutes) -> list[str]:
    return [v for f in dataclasses.fields(routes) if isinstance(v := getattr(routes, f.name), str) and f.name != "request_types"]
