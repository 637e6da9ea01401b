"""The agent's Prometheus metrics, on a registry of its own (one per agent, several per test process).

Counters are bumped where things happen (a transaction commits, a step is retried, partitions
move); gauges that describe the agent's state (lag, in-flight, queue depth) are sampled by the
agent loop at most every ``sample_interval_s``, so the HTTP thread never reads loop state.

Queue depth is labelled by project, a label without a natural bound: only the
``max_project_labels`` deepest projects get their own series, the rest are summed into
``project="_other"``, and series of projects that drained are removed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from media_stream.observability.gpu import register_gpu_collector

OTHER_PROJECTS = "_other"
RENDER_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
PartitionKey = tuple[str, int]


class AgentMetrics:
    def __init__(
        self,
        medium: str = "image",
        backend: str = "",
        registry: CollectorRegistry | None = None,
        max_project_labels: int = 20,
        sample_interval_s: float = 1.0,
        gpu: bool = True,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.max_project_labels = max_project_labels
        self.sample_interval_s = sample_interval_s
        r = self.registry
        Info("media_stream_agent", "What this agent renders.", registry=r).info({"medium": medium, "backend": backend})
        self.consumer_lag = Gauge(
            "media_stream_consumer_lag", "Requests not yet consumed per assigned partition (high watermark - position).", ["topic", "partition"], registry=r
        )
        self.requests_in_flight = Gauge("media_stream_requests_in_flight", "Requests taken into work and not yet ended.", registry=r)
        self.queue_depth = Gauge(
            "media_stream_queue_depth", f"Requests queued or rendering per project (the deepest N; the rest in project='{OTHER_PROJECTS}').", ["project"], registry=r
        )
        self.render_seconds = Histogram(
            "media_stream_render_seconds", "Wall time of one render call (a batch of steps).", ["backend", "size"], buckets=RENDER_BUCKETS, registry=r
        )
        self.batch_size = Histogram("media_stream_batch_size", "Steps per render call.", buckets=BATCH_BUCKETS, registry=r)
        self.dead_letters = Counter("media_stream_dead_letters", "Messages sent to the dead-letter topic, by stage.", ["stage"], registry=r)
        self.retries = Counter("media_stream_retries", "Step retries after a retriable render or storage fault.", registry=r)
        self.storage_holds = Counter("media_stream_storage_holds", "Times work was held because the object store was unavailable.", registry=r)
        self.transactions = Counter("media_stream_transactions", "Kafka transactions by outcome (committed, aborted).", ["outcome"], registry=r)
        self.rebalances = Counter("media_stream_rebalances", "Partition changes by kind (assign, revoke, lost).", ["kind"], registry=r)
        self.jobs = Counter("media_stream_jobs", "Jobs ended, by status (completed, failed, cancelled).", ["status"], registry=r)
        self.duplicates = Counter("media_stream_duplicate_requests", "Requests skipped because they were handled already.", registry=r)
        self.accepted = Counter("media_stream_requests_accepted", "Request messages taken from an owned partition.", registry=r)
        self.rendered_steps = Counter("media_stream_rendered_steps", "Steps (scenes, narrations, music) rendered and stored.", registry=r)
        self.unowned = Counter("media_stream_unowned_messages", "Messages dropped because their partition was no longer this agent's.", registry=r)
        self.discarded = Counter("media_stream_discarded_messages", "Unpublished messages dropped with partitions that moved (the next owner redoes them).", registry=r)
        self.pauses = Counter("media_stream_flow_control_pauses", "Times the in-flight window filled and the partitions were paused.", registry=r)
        self.last_turn = Gauge("media_stream_loop_last_turn_timestamp_seconds", "Unix time of the agent loop's last turn.", registry=r)
        for outcome in ("committed", "aborted"):
            self.transactions.labels(outcome)
        for kind in ("assign", "revoke", "lost"):
            self.rebalances.labels(kind)
        self.gpu = register_gpu_collector(r) if gpu else None
        self._projects: set[str] = set()
        self._lagging: set[PartitionKey] = set()
        self._next_sample = 0.0

    # ---- events ---------------------------------------------------------------------------

    @contextmanager
    def render(self, backend: str, size: str, batch: int) -> Iterator[None]:
        """Time one render call (used on the render thread)."""
        self.batch_size.observe(batch)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.render_seconds.labels(backend, size).observe(time.perf_counter() - started)

    def transaction(self, committed: bool) -> None:
        self.transactions.labels("committed" if committed else "aborted").inc()

    def rebalance(self, kind: str) -> None:
        self.rebalances.labels(kind).inc()

    def tally(self) -> dict[str, int]:
        """The agent's counts, read from these metrics (the one tally; tests and benchmarks read it)."""
        value = lambda name, **labels: int(self.registry.get_sample_value(f"{name}_total", labels) or 0)  # noqa: E731
        return {
            "accepted": value("media_stream_requests_accepted"),
            "rendered_steps": value("media_stream_rendered_steps"),
            **{status: value("media_stream_jobs", status=status) for status in ("completed", "failed", "cancelled")},
            "dead_letters": value("media_stream_dead_letters", stage="decode"),
            "control_dead_letters": value("media_stream_dead_letters", stage="control"),
            "duplicates": value("media_stream_duplicate_requests"),
            "assigned": value("media_stream_rebalances", kind="assign"),
            "revoked": value("media_stream_rebalances", kind="revoke"),
            "lost": value("media_stream_rebalances", kind="lost"),
            "transactions": value("media_stream_transactions", outcome="committed"),
            "storage_holds": value("media_stream_storage_holds"),
            "unowned": value("media_stream_unowned_messages"),
            "discarded": value("media_stream_discarded_messages"),
            "pauses": value("media_stream_flow_control_pauses"),
        }

    # ---- sampled state ------------------------------------------------------------------------

    def sample_due(self, now: float | None = None) -> bool:
        """True at most once per ``sample_interval_s``: the loop then calls ``sample``."""
        due, self._next_sample = loop_turned(self.last_turn, self._next_sample, self.sample_interval_s, now)
        return due

    def sample(self, in_flight: int, depth_by_project: Mapping[str, int], lag: Mapping[PartitionKey, int]) -> None:
        self.requests_in_flight.set(in_flight)
        self._set_queue_depth(depth_by_project)
        self._set_lag(lag)

    def _set_queue_depth(self, depth: Mapping[str, int]) -> None:
        ranked = sorted(((n, p) for p, n in depth.items() if n > 0), reverse=True)
        shown = {p: n for n, p in ranked[: self.max_project_labels]}
        rest = sum(n for n, _ in ranked[self.max_project_labels :])
        if rest:
            shown[OTHER_PROJECTS] = rest
        for gone in self._projects - shown.keys():
            self.queue_depth.remove(gone)
        for project, n in shown.items():
            self.queue_depth.labels(project).set(n)
        self._projects = set(shown)

    def _set_lag(self, lag: Mapping[PartitionKey, int]) -> None:
        self._lagging = set_per_partition(self.consumer_lag, self._lagging, lag)


def set_per_partition(gauge: Gauge, shown: set[PartitionKey], values: Mapping[PartitionKey, int]) -> set[PartitionKey]:
    """Set a (topic, partition)-labelled gauge to ``values``, removing the series of partitions in
    ``shown`` that are gone (revoked); returns the partitions now shown."""
    for gone in shown - values.keys():
        gauge.remove(gone[0], str(gone[1]))
    for (topic, partition), n in values.items():
        gauge.labels(topic, str(partition)).set(n)
    return set(values)


def size_label(step: Any) -> str:
    """A bounded label for what a step renders: WxH for images, the work type for audio."""
    width, height = getattr(step, "width", None), getattr(step, "height", None)
    if isinstance(width, int) and isinstance(height, int):
        return f"{width}x{height}"
    return type(step).__name__.removesuffix("Work").lower() or "step"


def backend_label(medium: Any, step: Any = None) -> str:
    """The renderer's name (image: the one renderer; audio: speech or music by the step's type)."""
    renderer = getattr(medium, "renderer", None)
    if renderer is None and step is not None:
        renderer = getattr(medium, "music" if "Music" in type(step).__name__ else "speech", None)
    if renderer is None:
        return str(getattr(medium, "name", "unknown"))
    return str(getattr(renderer, "name", None) or type(renderer).__name__)


def loop_turned(last_turn: Gauge, next_sample: float, interval_s: float, now: float | None = None) -> tuple[bool, float]:
    """Stamp a loop's last-turn gauge; (whether a sample is due, when the next one is)."""
    now = time.monotonic() if now is None else now
    last_turn.set(time.time())
    if now < next_sample:
        return False, next_sample
    return True, now + interval_s
