"""The pipeline benchmark: our agent against a bare confluent-kafka EOS loop, on the same broker.

Both consume N requests keyed by P projects from a 12-partition topic and, per request, publish
the same number of messages in Kafka transactions that also commit the consumed offsets. Ours
decodes, validates, schedules per key, renders with a renderer that does no work, stores in
memory, encodes the outcomes, and keeps its state changelogs; the bare loop copies pre-encoded
bytes. Throughput is requests produced in a burst until the last outcome is visible to a
read_committed subscriber; latency is per request, produced at a fixed rate, until its
BatchCompleted is visible.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from media_stream.config import Settings
from media_stream.domain.requests import ImageRequested
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.config import client_config
from media_stream.kafka.consumer import groupless_consumer
from media_stream.kafka.producer import EventProducer
from media_stream.render.null import NullRenderer
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.storage.memory import MemoryStore
from media_stream.topics.spec import TopicSpec

PARTITIONS = 12
MESSAGES_PER_REQUEST = 6  # queued, processing, ImageReady, BatchCompleted, completed, dedupe record


def _topics(admin: TopicAdmin, run: str) -> AgentRoutes:
    names = {role: f"bench.{run}.{role}" for role in ("requests", "dlq", "status", "failed", "control", "dedupe", "progress", "ready", "batch")}
    compact = {"cleanup.policy": "compact"}
    partitioned = {"requests", "control", "dedupe", "progress"}
    admin.create(
        TopicSpec(name, role, PARTITIONS if role in partitioned else 3, 1, compact if role in ("status", "dedupe", "progress") else {})
        for role, name in names.items()
    )
    return AgentRoutes(
        requests=names["requests"], dead_letters=names["dlq"], job_status=names["status"], job_failed=names["failed"],
        control=names["control"], dedupe=names["dedupe"], progress=names["progress"],
        request_types=("ImageRequested", "StoryboardRequested"), image_ready=names["ready"], batch_completed=names["batch"],
    )


def _requests(encoder: EventEncoder, topic: str, count: int, projects: int, run: str) -> list[Any]:
    return [
        encoder.message(topic, f"proj-{i % projects}", ImageRequested(f"r{i}-{run}", f"j{i}-{run}", f"proj-{i % projects}", prompt=f"scene {i}", width=64, height=64, seed=i), "00-" + "7" * 32 + "-" + "8" * 16 + "-01")
        for i in range(count)
    ]


class _Watcher:
    """A read_committed reader on its own thread that stamps when each outcome became visible."""

    def __init__(self, settings: Settings, bootstrap: str, topic: str) -> None:
        self.consumer = groupless_consumer(settings, bootstrap, "bench-watch")  # no group join in the measurement
        partitions = self.consumer.list_topics(topic, timeout=30).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.seen: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for msg in self.consumer.consume(1000, 0.002):  # batch consume waits out its timeout: keep it short
                if not msg.error():
                    self.seen.append((time.monotonic(), msg.value()))

    def wait_for(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        if len(self.seen) < count:
            raise TimeoutError(f"only {len(self.seen)} of {count} outcomes visible after {timeout_s:g}s")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


def _run_agent(settings: Settings, bootstrap: str, routes: AgentRoutes) -> tuple[Any, threading.Thread]:
    agent = build_agent(settings, "image", bootstrap, f"bench-{routes.requests}", routes, NullRenderer(), MemoryStore())
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not agent.counters["assigned"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return agent, thread


def measure_ours(settings: Settings, bootstrap: str, admin: TopicAdmin, count: int, projects: int, rate: float | None) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    routes = _topics(admin, run)
    encoder = EventEncoder(EventCodec.from_settings(settings))
    requests = _requests(encoder, routes.requests, count, projects, run)
    agent, thread = _run_agent(settings, bootstrap, routes)
    watcher = _Watcher(settings, bootstrap, routes.batch_completed)
    producer = EventProducer(settings, bootstrap)
    sent: dict[str, float] = {}
    try:
        started = time.monotonic()
        for i, message in enumerate(requests):
            if rate:
                time.sleep(max(0.0, started + i / rate - time.monotonic()))
            sent[f"j{i}-{run}"] = time.monotonic()
            producer.send(message)
        producer.flush()
        watcher.wait_for(count, timeout_s=120 + count / 50)
        elapsed = max(t for t, _ in watcher.seen) - started
    finally:
        producer.close()
        watcher.close()
        agent.stopping.set()
        thread.join(60)
    codec = EventCodec.from_settings(settings)
    latencies = sorted((t - sent[codec.decode(value).value["jobId"]]) * 1000 for t, value in watcher.seen)
    return {"requests_per_s": count / elapsed, "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99), "messages_out": agent.counters["completed"] * MESSAGES_PER_REQUEST}


def measure_bare(settings: Settings, bootstrap: str, admin: TopicAdmin, count: int, projects: int) -> float:
    """A textbook consume-transform-produce EOS loop (confluent-kafka's eos_transactions example)."""
    run = uuid.uuid4().hex[:8]
    source, sink = f"bench.{run}.bare-in", f"bench.{run}.bare-out"
    admin.create([TopicSpec(source, "in", PARTITIONS, 1, {}), TopicSpec(sink, "out", 3, 1, {})])
    encoder = EventEncoder(EventCodec.from_settings(settings))
    requests = _requests(encoder, source, count, projects, run)
    stop = threading.Event()
    base = client_config(settings, bootstrap)
    consumer = Consumer({**base, "group.id": f"bare-{run}", "isolation.level": "read_committed", "auto.offset.reset": "earliest", "enable.auto.commit": False})
    assigned = threading.Event()
    consumer.subscribe([source], on_assign=lambda _c, _p: assigned.set())
    out = Producer({**base, "transactional.id": f"bare-{run}", "linger.ms": 5})
    out.init_transactions(30)

    def loop() -> None:
        while not stop.is_set():
            batch = [m for m in consumer.consume(500, 0.02) if not m.error()]
            if not batch:
                continue
            out.begin_transaction()
            for msg in batch:
                for part in range(MESSAGES_PER_REQUEST):
                    out.produce(sink, key=msg.key(), value=msg.value() + bytes([part]))
            out.send_offsets_to_transaction(consumer.position(consumer.assignment()), consumer.consumer_group_metadata())
            out.commit_transaction()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    assigned.wait(60)
    watcher = _Watcher(settings, bootstrap, sink)
    producer = EventProducer(settings, bootstrap)
    try:
        started = time.monotonic()
        for message in requests:
            producer.send(message)
        producer.flush()
        watcher.wait_for(count * MESSAGES_PER_REQUEST, timeout_s=120 + count / 50)
        elapsed = max(t for t, _ in watcher.seen) - started
    finally:
        stop.set()
        thread.join(30)
        producer.close()
        watcher.close()
        consumer.close()
    return count / elapsed


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return round(values[min(len(values) - 1, int(len(values) * pct / 100))], 2)


def pipeline_benchmark(settings: Settings, requests: int, projects: int, rate: float) -> dict[str, Any]:
    from media_stream.bench.ordering import ordering_benchmark
    from media_stream.dev.local_kafka import LocalKafka

    with ExitStack() as stack:
        bootstrap = settings.kafka.bootstrap_servers
        if not bootstrap:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="media-stream-bench-")))
            local = settings.model_copy(update={"local_kafka": settings.local_kafka.model_copy(update={"port": 0})})
            broker = LocalKafka(local, data_dir=data)
            bootstrap = broker.start().bootstrap
            stack.callback(broker.stop)
        settings.worker.poll_timeout_s = 0.05
        settings.worker.max_batch_size = 64  # the null renderer batches anything
        admin = TopicAdmin(settings, bootstrap)
        ours = measure_ours(settings, bootstrap, admin, requests, projects, rate=None)
        bare = measure_bare(settings, bootstrap, admin, requests, projects)
        paced = measure_ours(settings, bootstrap, admin, int(rate * 5), projects, rate=rate)
    return {
        "benchmark": "pipeline",
        "requests": requests,
        "projects": projects,
        "requests_per_s": round(ours["requests_per_s"], 1),
        "bare_requests_per_s": round(bare, 1),
        "ratio": round(ours["requests_per_s"] / bare, 3),
        "messages_per_request": MESSAGES_PER_REQUEST,
        "paced_rate_per_s": rate,
        "p50_ms": paced["p50_ms"],
        "p99_ms": paced["p99_ms"],
        "burst_p50_ms": ours["p50_ms"],
        "burst_p99_ms": ours["p99_ms"],
        "key_ordering": ordering_benchmark(),
    }
