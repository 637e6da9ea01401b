"""What an operator sees of a running agent, against the real broker: /metrics after a storyboard,
/healthz/live and /healthz/ready through their transitions, JSON log lines of the job, and one
trace from the request to every outcome."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from media_stream.client.publisher import RequestPublisher
from media_stream.config import Settings
from media_stream.kafka.topic_scan import scan
from media_stream.observability import tracing
from media_stream.observability.health_server import HealthServer
from media_stream.observability.logging_setup import JsonFormatter
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import outcome_topics
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
SCENES = 6


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = get(port, "/metrics")
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(body.decode()) for s in f.samples}


@pytest.fixture
def served(start_agent: Callable[..., RunningAgent]) -> Iterator[tuple[RunningAgent, HealthServer]]:
    running = start_agent()
    server = HealthServer(running.agent.health, running.agent.metrics.registry, "127.0.0.1", 0).start()
    yield running, server
    server.stop()


def test_metrics_after_a_storyboard(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, served: tuple[RunningAgent, HealthServer]) -> None:
    running, server = served
    wait_for("the agent to be ready", lambda: get(server.port, "/healthz/ready")[0] == 200, timeout_s=60, every_s=0.1)
    publish(settings, kafka_bootstrap, routes, storyboard("obs-1", "proj-obs", scenes=SCENES))
    collect(settings, routes, kafka_bootstrap, ended({"obs-1"}))
    wait_for("a lag gauge", lambda: any(name == "media_stream_consumer_lag" for name, _ in scrape(server.port)), timeout_s=10, every_s=0.1)
    got = scrape(server.port)

    renders = sum(v for (name, labels), v in got.items() if name == "media_stream_render_seconds_count" and dict(labels) == {"backend": "preview", "size": "64x64"})
    assert 1 <= renders <= SCENES  # one observation per render call
    assert got[("media_stream_batch_size_sum", ())] == SCENES  # every scene rendered once
    assert got[("media_stream_transactions_total", (("outcome", "committed"),))] > 0
    assert got[("media_stream_transactions_total", (("outcome", "aborted"),))] == 0
    assert got[("media_stream_jobs_total", (("status", "completed"),))] == 1
    assert got[("media_stream_rebalances_total", (("kind", "assign"),))] >= 1
    lag = {dict(labels)["partition"]: v for (name, labels), v in got.items() if name == "media_stream_consumer_lag"}
    assert set(lag) <= {"0", "1", "2"} and lag and all(v >= 0 for v in lag.values())
    # gauges are sampled once per sample interval: the one taken after the job ended reads 0
    wait_for("requests still in flight", lambda: scrape(server.port).get(("media_stream_requests_in_flight", ())) == 0, 10)
    assert ("media_stream_dead_letters_total", (("stage", "decode"),)) not in got or got[("media_stream_dead_letters_total", (("stage", "decode"),))] == 0
    assert got[("media_stream_agent_info", (("backend", "preview"), ("medium", "image")))] == 1


def test_health_transitions(settings: Settings, served: tuple[RunningAgent, HealthServer]) -> None:
    running, server = served
    wait_for("the agent to be ready", lambda: get(server.port, "/healthz/ready")[0] == 200, timeout_s=60, every_s=0.1)
    status, body = get(server.port, "/healthz/ready")
    ready = json.loads(body)
    assert ready["ready"] and sorted(ready["checks"]["assignment"]["partitions"]) == [0, 1, 2]
    assert get(server.port, "/healthz/live")[0] == 200

    root = settings.storage.root  # the store goes away: not ready, still live
    moved = root.with_name("storage-away")
    running.agent.health.storage_check_interval_s = 0.0
    root.rename(moved)
    root.write_text("not a directory")
    try:
        status, body = get(server.port, "/healthz/ready")
        assert status == 503 and json.loads(body)["failed"] == ["storage"]
        assert get(server.port, "/healthz/live")[0] == 200
    finally:
        root.unlink()
        moved.rename(root)
    assert get(server.port, "/healthz/ready")[0] == 200

    running.stop()
    status, body = get(server.port, "/healthz/live")
    assert status == 503 and json.loads(body)["phase"] == "stopped"
    status, body = get(server.port, "/healthz/ready")
    assert status == 503 and "loop" in json.loads(body)["failed"]


def test_a_member_without_partitions_is_ready_and_idle(start_agent: Callable[..., RunningAgent], settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str], routes: AgentRoutes) -> None:
    """A second agent in a group whose one partition the first holds: live, and ready once it is a
    member (idle), so a rollout's surge pod with nothing to take does not hang the rollout."""
    from dataclasses import replace

    one = replace(routes, requests=unique_topic("requests-1", partitions=1))
    first = start_agent(group="g-one", on=one)
    wait_for("the first agent to get a partition", lambda: bool(first.agent.health.partitions), timeout_s=60, every_s=0.1)
    second = start_agent(group="g-one", on=one)
    server = HealthServer(second.agent.health, second.agent.metrics.registry, "127.0.0.1", 0).start()
    try:
        wait_for("the second agent to start", lambda: second.agent.health.phase == "running" and second.agent.health.last_turn is not None, timeout_s=30, every_s=0.1)
        wait_for("the second agent to join the group", lambda: second.agent.health.in_group, timeout_s=60, every_s=0.1)
        status, body = get(server.port, "/healthz/ready")
        assert status == 200 and json.loads(body)["checks"]["assignment"] == {"ok": True, "partitions": [], "idle": True}
        assert get(server.port, "/healthz/live")[0] == 200
        assert first.agent.health.partitions == (0,)  # cooperative-sticky left the partition where it was
    finally:
        server.stop()


def test_one_trace_from_request_to_every_outcome_and_json_logs(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    lines: list[str] = []
    handler = logging.Handler()
    handler.setFormatter(JsonFormatter())
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    agent_log = logging.getLogger("media_stream.runtime.agent")
    agent_log.addHandler(handler)
    level = agent_log.level
    agent_log.setLevel(logging.INFO)
    try:
        start_agent()
        publisher = RequestPublisher(settings, kafka_bootstrap)
        sent = publisher.publish(storyboard("traced", "proj-trace", scenes=3), topic=routes.requests)
        publisher.close()
        collect(settings, routes, kafka_bootstrap, ended({"traced"}))
    finally:
        tracing.use_tracer_provider(None)
        agent_log.removeHandler(handler)
        agent_log.setLevel(level)

    trace_id, request_span = sent.traceparent.split("-")[1:3]
    outcomes = [m for topic in outcome_topics(routes) for m in scan(settings, kafka_bootstrap, topic)]
    assert len(outcomes) >= 3 + 1 + 2  # ImageReady x3, BatchCompleted, statuses
    parents = [m.header("traceparent").decode() for m in outcomes]
    assert {p.split("-")[1] for p in parents} == {trace_id}  # every outcome continues the request's trace

    spans = exporter.get_finished_spans()
    process = [s for s in spans if s.name == f"process {routes.requests}"]
    assert len(process) == 1 and format(process[0].parent.span_id, "016x") == request_span
    assert format(process[0].context.trace_id, "032x") == trace_id and process[0].attributes["media_stream.status"] == "completed"
    renders = [s for s in spans if s.name == "render"]
    assert len(renders) == 3 and all(s.parent.span_id == process[0].context.span_id for s in renders)
    publish_span = next(s for s in spans if s.name == "publish")
    assert publish_span.parent.span_id == process[0].context.span_id
    outcome_spans = {p.split("-")[2] for p in parents}
    assert outcome_spans <= {format(process[0].context.span_id, "016x"), format(publish_span.context.span_id, "016x")}
    assert format(publish_span.context.span_id, "016x") in outcome_spans  # the terminal outcomes

    ended_line = next(json.loads(line) for line in lines if json.loads(line)["msg"] == "job traced completed")
    assert ended_line["jobId"] == "traced" and ended_line["projectId"] == "proj-trace" and ended_line["topic"] == routes.requests
    assert isinstance(ended_line["partition"], int) and ended_line["offset"] == 0 and ended_line["level"] == "INFO"


def test_consumer_lag_counts_the_backlog_also_while_paused(settings: Settings, kafka_bootstrap: str, unique_topic: Callable[..., str]) -> None:
    from media_stream.kafka.consumer import EventConsumer
    from media_stream.kafka.messages import OutgoingMessage
    from media_stream.kafka.producer import EventProducer

    topic = unique_topic("lag", partitions=1)
    producer = EventProducer(settings, kafka_bootstrap)
    consumer = EventConsumer(settings, f"lag-{topic}", [topic], kafka_bootstrap)
    try:
        for i in range(10):
            producer.send(OutgoingMessage(topic, b"k", b"%d" % i))
        producer.flush()
        taken: list = []
        deadline = time.monotonic() + 30
        while len(taken) < 3 and time.monotonic() < deadline:
            taken += consumer.consume(3 - len(taken), 0.5)
        assert len(taken) == 3
        assert consumer.lag([(topic, 0)]) == {(topic, 0): 7}
        consumer.pause([(topic, 0)])  # an agent with a full in-flight window
        for i in range(20):
            producer.send(OutgoingMessage(topic, b"k", b"late %d" % i))
        producer.flush()
        wait_for("the backlog to show while paused", lambda: consumer.consume(10, 0.1) == [] and consumer.lag([(topic, 0)]) == {(topic, 0): 27}, timeout_s=20, every_s=0.1)
    finally:
        consumer.close()
        producer.close()
