"""The pipeline benchmark: our agent against textbook EOS loops and a Quix Streams peer, one broker.

Every processor runs in its own process (so none shares the GIL with the load generator) on
fresh topics shaped as in topics.yaml, and consumes ImageRequested keyed by P projects:

- ours: the agent with a renderer that does no work and an in-memory store;
- bare: confluent-kafka's eos_transactions loop publishing 6 copies of each request to one
  3-partition topic (the figure this benchmark always had);
- same_messages: that loop publishing what our agent publishes, to the same topics and
  partitions (``same_messages``): ``ratio_same_messages`` measures our runtime, not our design;
- peer_quix: a Quix Streams app, exactly-once, 100 ms commit interval, the same messages;
- baselines (``--baseline-ref A,B``): our agent as it was at those git refs (before/after);
- ours with other ``worker.commit_shards`` (``--commit-shards 1,2``), side by side.

Each processor first answers a warm-up (so its group has joined and its producer is ready), then
a burst of N requests: throughput is N / (last outcome visible to a read_committed reader -
first request sent). Then paced runs (50, 200 and 500 requests/s by default, 5 s each): latency
per request from sent to its BatchCompleted visible.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from media_stream.config import PROJECT_ROOT, Settings
from media_stream.domain.requests import ImageRequested
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.consumer import groupless_consumer
from media_stream.kafka.producer import EventProducer
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.topics.spec import TopicSpec, load_topics

log = logging.getLogger(__name__)
MESSAGES_PER_REQUEST = 6  # queued, processing, ImageReady, BatchCompleted, completed, dedupe record
PACED_S = 5.0
WARMUP = 24
ROLES = {"requests": "image_requests", "dlq": "image_requests_dlq", "status": "job_status", "failed": "job_failed", "control": "control",
         "dedupe": "dedupe", "progress": "job_progress", "ready": "image_ready", "batch": "batch_completed"}
AGENT_SCRIPT = Path(__file__).with_name("pipeline_agent.py")


def _create_topics(settings: Settings, admin: TopicAdmin, run: str) -> dict[str, str]:
    """Fresh topics named bench.<run>.<role>, partitions and cleanup as in topics.yaml."""
    declared = load_topics(settings.topics_file, profile="local")
    names = {role: f"bench.{run}.{role}" for role in ROLES}
    admin.create(TopicSpec(names[role], spec.role, spec.partitions, 1, {"cleanup.policy": spec.cleanup_policy})
                 for role, spec in ((role, declared.by_role(r)) for role, r in ROLES.items()))
    return names


def _topics(admin: TopicAdmin, run: str, settings: Settings | None = None) -> AgentRoutes:
    """Fresh agent topics for one run (also used by ``bench load`` and ``bench scale``)."""
    settings = settings or Settings()
    return _routes(settings, _create_topics(settings, admin, run))


def _routes(settings: Settings, names: dict[str, str]) -> AgentRoutes:
    """The agent's routes over the run's topics; co-partitioned as declared in topics.yaml."""
    declared = load_topics(settings.topics_file)
    group = declared.by_role(ROLES["requests"]).copartition
    return AgentRoutes(
        requests=names["requests"], dead_letters=names["dlq"], job_status=names["status"], job_failed=names["failed"],
        control=names["control"], dedupe=names["dedupe"], progress=names["progress"],
        request_types=("ImageRequested", "StoryboardRequested"), image_ready=names["ready"], batch_completed=names["batch"],
        copartitioned=tuple(names[role] for role, r in ROLES.items() if group and declared.by_role(r).copartition == group),
    )


def _requests(encoder: EventEncoder, topic: str, count: int, projects: int, tag: str) -> list[tuple[str, Any]]:
    """(jobId, message) per request; project i % projects, so keys spread over the partitions."""
    out = []
    for i in range(count):
        job, project = f"j{i}-{tag}", f"proj-{i % projects}"
        request = ImageRequested(f"r{i}-{tag}", job, project, prompt=f"scene {i}", width=64, height=64, seed=i)
        out.append((job, encoder.message(topic, project, request, "00-" + "7" * 32 + "-" + "8" * 16 + "-01")))
    return out


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

    def wait_for(self, count: int, timeout_s: float, alive: Any = lambda: True) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < count and time.monotonic() < deadline and alive():
            time.sleep(0.005)
        if len(self.seen) < count:
            raise TimeoutError(f"only {len(self.seen)} of {count} outcomes visible after {timeout_s:g}s" + ("" if alive() else " (the processor exited)"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.consumer.close()


@dataclass
class Processor:
    """One processor under test: how to start it, and what it publishes where."""

    name: str
    command: list[str]
    watch_role: str  # the topic the watcher reads: BatchCompleted for all but the bare loop
    per_request: int = 1  # messages per request on that topic
    env: dict[str, str] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)  # extra spec keys for the command


@dataclass
class Figures:
    requests_per_s: float
    cpu_ms_per_request: float | None = None  # the processor's CPU (all its threads) in the burst
    burst_p50_ms: float | None = None
    burst_p99_ms: float | None = None
    paced: dict[str, dict[str, float]] = field(default_factory=dict)


def measure(settings: Settings, bootstrap: str, admin: TopicAdmin, processor: Processor, count: int, projects: int, rates: tuple[float, ...]) -> Figures:
    run = uuid.uuid4().hex[:8]
    names = _create_topics(settings, admin, run)
    group = f"bench-{processor.name}-{run}"
    routes = _routes(settings, names)
    spec = {"bootstrap": bootstrap, "group": group, "routes": dataclasses.asdict(routes), "source": names["requests"],
            "topics": {"status": names["status"], "ready": names["ready"], "batch": names["batch"], "dedupe": names["dedupe"]},
            "status_partition": "request" if routes.job_status in routes.copartitioned else "key", **processor.spec}  # as AgentRoutes.place
    if processor.name == "bare":
        spec["sink"] = f"bench.{run}.bare-out"
        admin.create([TopicSpec(spec["sink"], "out", 3, 1, {})])
        names["bare"] = spec["sink"]
    encoder = EventEncoder(EventCodec.from_settings(settings))
    codec = encoder.codec
    log.info("bench pipeline: %s", processor.name)
    with ExitStack() as stack:
        errors = stack.enter_context(tempfile.TemporaryFile())
        process = subprocess.Popen([*processor.command, json.dumps(spec)], cwd=PROJECT_ROOT, env={**os.environ, **processor.env}, stdout=errors, stderr=subprocess.STDOUT)
        stack.callback(_stop, process, errors, processor.name)
        watcher = _Watcher(settings, bootstrap, names[processor.watch_role])
        stack.callback(watcher.close)
        producer = EventProducer(settings, bootstrap)
        stack.callback(producer.close)
        alive = lambda: process.poll() is None  # noqa: E731
        expected = 0

        def send(batch: list[tuple[str, Any]], rate: float | None) -> tuple[float, dict[str, float]]:
            nonlocal expected
            sent: dict[str, float] = {}
            started = time.monotonic()
            for i, (job, message) in enumerate(batch):
                if rate:
                    time.sleep(max(0.0, started + i / rate - time.monotonic()))
                sent[job] = time.monotonic()
                producer.send(message)
            producer.flush()
            expected += len(batch) * processor.per_request
            watcher.wait_for(expected, timeout_s=120 + len(batch) / 20, alive=alive)
            return started, sent

        send(_requests(encoder, names["requests"], WARMUP, projects, f"warm-{run}"), rate=None)
        first = len(watcher.seen)
        burst_requests = _requests(encoder, names["requests"], count, projects, f"burst-{run}")
        cpu_before = _cpu_s(process.pid)
        started, sent = send(burst_requests, rate=None)
        cpu = _cpu_s(process.pid) - cpu_before
        burst = watcher.seen[first:]
        figures = Figures(count / (max(t for t, _ in burst) - started), round(cpu * 1000 / count, 3))
        if processor.watch_role == "batch":
            figures.burst_p50_ms, figures.burst_p99_ms = _percentiles(codec, burst, sent)
            for rate in rates:
                first = len(watcher.seen)
                _, sent = send(_requests(encoder, names["requests"], int(rate * PACED_S), projects, f"paced{rate:g}-{run}"), rate=rate)
                p50, p99 = _percentiles(codec, watcher.seen[first:], sent)
                figures.paced[f"{rate:g}"] = {"p50_ms": p50, "p99_ms": p99}
    admin.delete(names.values())
    return figures


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(process: subprocess.Popen, errors: Any, name: str) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    elif process.returncode:
        errors.seek(0)
        tail = errors.read()[-3000:].decode(errors="replace")
        log.error("%s exited %d:\n%s", name, process.returncode, tail)


def _percentiles(codec: EventCodec, seen: list[tuple[float, bytes]], sent: dict[str, float]) -> tuple[float, float]:
    latencies = sorted((t - sent[job]) * 1000 for t, value in seen if (job := codec.decode(value).value["jobId"]) in sent)
    return _pct(latencies, 50), _pct(latencies, 99)


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return round(values[min(len(values) - 1, int(len(values) * pct / 100))], 2)


def _baseline_tree(ref: str, into: Path) -> Path:
    """The package as it was at ``ref`` (git archive), to run its agent beside today's."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", ref, "media_stream", "schemas", "topics.yaml"], cwd=PROJECT_ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def processors(settings: Settings, temp: Path, baseline_refs: tuple[str, ...], peer: bool, commit_shards: tuple[int, ...] = ()) -> list[Processor]:
    python = sys.executable
    found = [
        Processor("ours", [python, str(AGENT_SCRIPT)], "batch", env={"PYTHONPATH": str(PROJECT_ROOT)}),
        Processor("bare", [python, "-m", "media_stream.bench.pipeline_loops"], "bare", MESSAGES_PER_REQUEST, spec={"kind": "bare"}),
        Processor("same_messages", [python, "-m", "media_stream.bench.pipeline_loops"], "batch", spec={"kind": "same"}),
    ]
    for n, ref in enumerate(baseline_refs):
        tree = _baseline_tree(ref, temp / f"baseline-{n}")
        found.append(Processor(f"baseline:{ref}", [python, str(AGENT_SCRIPT)], "batch", env={"PYTHONPATH": str(tree)}))
    for shards in commit_shards:
        found.append(Processor(f"commit_shards:{shards}", [python, str(AGENT_SCRIPT)], "batch",
                               env={"PYTHONPATH": str(PROJECT_ROOT), "MEDIA_STREAM_WORKER__COMMIT_SHARDS": str(shards)}))
    if peer:
        from media_stream.bench.peers import quix_python

        try:
            python_quix = quix_python(settings.local_kafka.home.parent)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:  # no uv, or no package index reachable
            log.warning("no Quix Streams peer: its environment could not be built (%s)", exc)
        else:
            found.append(Processor("peer_quix", [str(python_quix), "-m", "media_stream.bench.peer_quix"], "batch",
                                   env={"PYTHONPATH": str(PROJECT_ROOT)}, spec={"state_dir": str(temp / "quix-state")}))
    return found


def pipeline_benchmark(settings: Settings, requests: int, projects: int, rates: tuple[float, ...], baseline_refs: tuple[str, ...] = (),
                       peer: bool = True, ordering: bool = True, commit_shards: tuple[int, ...] = (), repeat: int = 1) -> dict[str, Any]:
    """Each processor measured ``repeat`` times (the order reversed every other round, after one
    unrecorded warm-up run of the first: the first run on a broker was the slowest whichever it
    was); each figure is the median of its runs."""
    from media_stream.dev.local_kafka import LocalKafka

    runs: dict[str, list[Figures]] = {}
    with ExitStack() as stack:
        temp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="media-stream-bench-")))
        bootstrap = settings.kafka.bootstrap_servers
        if not bootstrap:
            local = settings.model_copy(update={"local_kafka": settings.local_kafka.model_copy(update={"port": 0})})
            broker = LocalKafka(local, data_dir=temp / "kafka")
            bootstrap = broker.start().bootstrap
            stack.callback(broker.stop)
        admin = TopicAdmin(settings, bootstrap)
        found = processors(settings, temp, baseline_refs, peer, commit_shards)
        log.info("bench pipeline: warm-up run (not recorded)")
        measure(settings, bootstrap, admin, found[0], requests, projects, ())
        for round_ in range(repeat):
            for processor in found if round_ % 2 == 0 else found[::-1]:
                runs.setdefault(processor.name, []).append(measure(settings, bootstrap, admin, processor, requests, projects, rates))
    report = _report({name: _median(figures) for name, figures in runs.items()}, requests, projects, rates, ordering)
    report["repeat"] = repeat
    report["runs_requests_per_s"] = {name: [round(f.requests_per_s, 1) for f in figures] for name, figures in runs.items()}
    return report


def _median(runs: list[Figures]) -> Figures:
    def mid(values: list[float | None]) -> float | None:
        known = sorted(v for v in values if v is not None)
        return known[len(known) // 2] if known else None

    paced = {rate: {key: mid([r.paced[rate][key] for r in runs]) for key in ("p50_ms", "p99_ms")} for rate in runs[0].paced}
    return Figures(mid([r.requests_per_s for r in runs]), mid([r.cpu_ms_per_request for r in runs]),  # type: ignore[arg-type]
                   mid([r.burst_p50_ms for r in runs]), mid([r.burst_p99_ms for r in runs]), paced)


def _report(results: dict[str, Figures], requests: int, projects: int, rates: tuple[float, ...], ordering: bool) -> dict[str, Any]:
    ours, bare, same = results["ours"], results["bare"], results["same_messages"]
    middle = f"{rates[len(rates) // 2]:g}" if rates else None

    def summary(figures: Figures) -> dict[str, Any]:
        return {"requests_per_s": round(figures.requests_per_s, 1), "cpu_ms_per_request": figures.cpu_ms_per_request, "ratio_same_messages": round(figures.requests_per_s / same.requests_per_s, 3),
                "burst_p50_ms": figures.burst_p50_ms, "burst_p99_ms": figures.burst_p99_ms, "paced": figures.paced}

    report: dict[str, Any] = {
        "benchmark": "pipeline",
        "requests": requests,
        "projects": projects,
        "messages_per_request": MESSAGES_PER_REQUEST,
        "requests_per_s": round(ours.requests_per_s, 1),
        "bare_requests_per_s": round(bare.requests_per_s, 1),
        "same_messages_requests_per_s": round(same.requests_per_s, 1),
        "ratio": round(ours.requests_per_s / bare.requests_per_s, 3),
        "ratio_same_messages": round(ours.requests_per_s / same.requests_per_s, 3),
        "paced": ours.paced,
        "paced_rate_per_s": float(middle) if middle else None,
        "p50_ms": ours.paced.get(middle, {}).get("p50_ms") if middle else None,
        "p99_ms": ours.paced.get(middle, {}).get("p99_ms") if middle else None,
        "burst_p50_ms": ours.burst_p50_ms,
        "burst_p99_ms": ours.burst_p99_ms,
        "cpu_ms_per_request": {name: f.cpu_ms_per_request for name, f in results.items()},
        "same_messages": {"paced": same.paced, "burst_p50_ms": same.burst_p50_ms, "burst_p99_ms": same.burst_p99_ms},
    }
    if "peer_quix" in results:
        quix = results["peer_quix"]
        report["peer_quix"] = {**summary(quix), "p99_ms": quix.paced.get(middle, {}).get("p99_ms") if middle else None,
                               "processing_guarantee": "exactly-once", "commit_interval_s": 0.1}
    for name, figures in results.items():
        kind, _, value = name.partition(":")
        if kind in ("baseline", "commit_shards"):
            report.setdefault(kind, {})[value] = summary(figures)
    if ordering:
        from media_stream.bench.ordering import ordering_benchmark

        report["key_ordering"] = ordering_benchmark()
    return report
