"""Load: N requests over P projects through one agent with a stand-in renderer, and the accounting.

``LoadRig`` is what the load and soak benchmarks share: a broker (``kafka.bootstrap_servers``,
else a local one of its own in a temporary directory), fresh 12-partition topics, one image agent
on a thread with an instant renderer (``null``: a fixed 8x8 PNG; ``preview``: the embedded
preview renderer's real PNGs) storing into a temporary folder, and an ``OutcomeClock``: a
read_committed reader of BatchCompleted and JobFailed that stamps each outcome's latency from its
send and counts what would break the promise (a job ended twice, a project's jobs out of order).

``load_benchmark`` sends all requests at once (a burst) and reports throughput (requests until
the last outcome is visible), p50/p99 latency (send → BatchCompleted visible, under that burst:
mostly the wait in the queue), then p50/p99 of requests paced at half that throughput for
``paced_s`` (latency without a queue), the process's peak RSS, and the accounting over both:
lost (sent, never ended), duplicates, out of order.
RSS is the whole process: agent, load generator and reader.
"""

from __future__ import annotations

import logging
import resource
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_stream.bench.pipeline import _topics
from media_stream.config import Settings
from media_stream.domain.requests import ImageRequested
from media_stream.kafka.follow import TopicFollower
from media_stream.kafka.producer import EventProducer
from media_stream.runtime.assembly import build_agent
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.storage.filesystem import FilesystemStore

log = logging.getLogger(__name__)
TRACE = "00-" + "5" * 32 + "-" + "6" * 16 + "-01"


def rss_mb() -> float:
    """The process's resident set now (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))], 2)


def _renderer(name: str) -> Any:
    if name == "preview":
        from media_stream.render.image.preview import PreviewRenderer

        return PreviewRenderer(max_batch_size=16)
    from media_stream.render.image.null import NullRenderer

    return NullRenderer()


@dataclass
class OutcomeClock:
    """Reads BatchCompleted and JobFailed (read_committed, outside any group) on its own thread."""

    settings: Settings
    bootstrap: str
    topics: list[str]
    sent: dict[str, tuple[float, str, int]] = field(default_factory=dict)  # jobId → (sent at, project, seq); popped when it ends
    latencies_ms: list[float] = field(default_factory=list)
    completed: int = 0
    failed: int = 0
    unexpected: int = 0  # an outcome for a job not (or no longer) waited for: a duplicate
    out_of_order: int = 0
    last_seen_at: float = 0.0

    def __post_init__(self) -> None:
        self._codec = EventCodec.from_settings(self.settings)
        self._last_seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._follower = TopicFollower(self.settings, self.bootstrap, self.topics, from_beginning=True)
        self._thread = threading.Thread(target=self._loop, name="outcome-clock", daemon=True)
        self._thread.start()

    def expect(self, job_id: str, project: str, seq: int) -> None:
        with self._lock:
            self.sent[job_id] = (time.monotonic(), project, seq)

    def take_latencies(self) -> list[float]:
        with self._lock:
            taken, self.latencies_ms = self.latencies_ms, []
        return taken

    @property
    def ended(self) -> int:
        return self.completed + self.failed

    def _loop(self) -> None:
        while not self._stop.is_set():
            message = self._follower.poll(0.01)
            if message is not None and message.value is not None:
                now = time.monotonic()
                decoded = self._codec.decode(message.value)
                with self._lock:
                    self._ended(decoded.record_name, decoded.value["jobId"], now)

    def _ended(self, record: str, job_id: str, now: float) -> None:
        waited = self.sent.pop(job_id, None)
        if waited is None:
            self.unexpected += 1
            return
        sent_at, project, seq = waited
        if seq < self._last_seq.get(project, -1):
            self.out_of_order += 1
        self._last_seq[project] = seq
        self.latencies_ms.append((now - sent_at) * 1000)
        if record == "BatchCompleted":
            self.completed += 1
        else:
            self.failed += 1
        self.last_seen_at = now

    def wait_for(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.ended < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._follower.close()


class LoadRig:
    """A broker, fresh topics, one agent on a thread and an outcome clock; a context manager."""

    def __init__(self, settings: Settings, renderer: str = "null") -> None:
        self.settings = settings
        self.renderer = renderer
        self.run = uuid.uuid4().hex[:8]
        self._stack = ExitStack()

    def __enter__(self) -> LoadRig:
        from media_stream.dev.local_kafka import LocalKafka
        from media_stream.kafka.admin import TopicAdmin

        settings = self.settings
        scratch = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="media-stream-load-")))
        bootstrap = settings.kafka.bootstrap_servers
        if not bootstrap:
            local = settings.model_copy(update={"local_kafka": settings.local_kafka.model_copy(update={"port": 0})})
            broker = LocalKafka(local, data_dir=scratch / "kafka")
            bootstrap = broker.start().bootstrap
            self._stack.callback(broker.stop)
        self.bootstrap = bootstrap
        settings.worker.poll_timeout_s = 0.05
        settings.worker.max_batch_size = 64 if self.renderer == "null" else 16
        self.routes = _topics(TopicAdmin(settings, bootstrap), self.run)
        self.agent = self._build_agent(scratch / "storage")
        self._agent_thread = threading.Thread(target=self.agent.run, name="agent", daemon=True)
        self._agent_thread.start()
        self._stack.callback(self._stop_agent)
        deadline = time.monotonic() + 60
        while not self.agent.assigned and time.monotonic() < deadline:
            time.sleep(0.05)
        self.clock = OutcomeClock(settings, bootstrap, [self.routes.batch_completed, self.routes.job_failed])
        self._stack.callback(self.clock.close)
        self.producer = EventProducer(settings, bootstrap)
        self._stack.callback(self.producer.close)
        self._encoder = EventEncoder(EventCodec.from_settings(settings))
        self._seq = 0
        return self

    def _build_agent(self, storage: Path) -> Any:
        return build_agent(self.settings, "image", self.bootstrap, f"bench-load-{self.run}", self.routes, _renderer(self.renderer), FilesystemStore(storage))

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _stop_agent(self) -> None:
        self.agent.stopping.set()
        self._agent_thread.join(60)

    def send(self, projects: int) -> None:
        """One ImageRequested for project ``seq % projects``."""
        seq = self._seq
        self._seq += 1
        project = f"proj-{seq % projects}"
        job = f"j{seq}-{self.run}"
        request = ImageRequested(f"r{seq}-{self.run}", job, project, prompt=f"scene {seq}", width=64, height=64, seed=seq)
        self.clock.expect(job, project, seq)
        self.producer.send(self._encoder.message(self.routes.requests, project, request, TRACE))

    @property
    def sent(self) -> int:
        return self._seq

    def accounting(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "completed": self.clock.completed,
            "failed": self.clock.failed,
            "lost": self.sent - self.clock.ended,
            "duplicates": self.clock.unexpected,
            "out_of_order": self.clock.out_of_order,
        }


def _paced(rig: LoadRig, projects: int, rate: float, seconds: float) -> dict[str, Any]:
    """Latency without a queue: requests at ``rate`` (half the burst throughput) for ``seconds``."""
    count = int(rate * seconds)
    already = rig.clock.ended
    began = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, began + i / rate - time.monotonic()))
        rig.send(projects)
    rig.producer.flush()
    rig.clock.wait_for(already + count, timeout_s=60 + seconds)
    latencies = rig.clock.take_latencies()
    return {"requests": count, "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


def load_benchmark(settings: Settings, requests: int = 10_000, projects: int = 500, renderer: str = "null", timeout_s: float | None = None, paced_s: float = 10.0) -> dict[str, Any]:
    with LoadRig(settings, renderer) as rig:
        rss_before = rss_mb()
        started = time.monotonic()
        for _ in range(requests):
            rig.send(projects)
        rig.producer.flush()
        sent_s = time.monotonic() - started
        rig.clock.wait_for(requests, timeout_s or 120 + requests / 20)
        elapsed = (rig.clock.last_seen_at or time.monotonic()) - started
        latencies = rig.clock.take_latencies()
        paced_rate = max(1.0, round(rig.clock.ended / elapsed / 2)) if elapsed > 0 else 10.0
        paced = _paced(rig, projects, paced_rate, paced_s)
        time.sleep(1.0)  # anything arriving late (a duplicate) is counted too
        figures = {
            "benchmark": "load",
            "requests": requests,
            "projects": projects,
            "renderer": renderer,
            "send_s": round(sent_s, 2),
            "elapsed_s": round(elapsed, 2),
            "requests_per_s": round(rig.clock.ended / elapsed, 1) if elapsed > 0 else None,
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
            "max_ms": round(max(latencies), 2) if latencies else None,
            "paced_rate_per_s": paced_rate,
            "paced_requests": paced["requests"],
            "paced_p50_ms": paced["p50_ms"],
            "paced_p99_ms": paced["p99_ms"],
            "rss_before_mb": round(rss_before, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "agent_counters": dict(rig.agent.counters),
            **rig.accounting(),
        }
    return figures
