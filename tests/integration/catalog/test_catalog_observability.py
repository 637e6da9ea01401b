"""The catalog processor's /metrics and /healthz/* scraped over HTTP from a running processor (the
server `catalog run` starts): not ready before the group assigns it anything, ready with counters
after it folded outcomes, not live nor ready once stopped; a replica the group has no partition
for is ready but idle (so a rolling update can complete)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from media_stream.catalog.cli import _health_server
from media_stream.catalog.processor import CatalogProcessor
from media_stream.catalog.topics import CatalogTopics
from media_stream.config import Settings
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.messages import OutgoingMessage
from media_stream.kafka.producer import EventProducer
from media_stream.observability.health_server import HealthServer
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.catalog_fixtures import CatalogEnv
from tests.helpers.outcomes import ready
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
TRACE = "00-" + "5" * 32 + "-" + "6" * 16 + "-01"


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def health(port: int, which: str) -> tuple[int, dict[str, Any]]:
    status, body = get(port, f"/healthz/{which}")
    return status, json.loads(body)


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, text = get(port, "/metrics")
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Served = tuple[CatalogProcessor, HealthServer]


@pytest.fixture
def serve(catalog_settings: Settings, kafka_bootstrap: str) -> Iterator[Callable[[CatalogTopics], Served]]:
    """``serve(topics)``: a processor with its health server up (built as `catalog run` builds it),
    not yet running; ``run(processor)`` starts its loop on a thread. Everything stops at the end."""
    started: list[tuple[CatalogProcessor, HealthServer, list[threading.Thread]]] = []

    def make(topics: CatalogTopics) -> Served:
        settings = catalog_settings.model_copy(deep=True)
        settings.observability.host, settings.observability.port = "127.0.0.1", free_port()
        processor = CatalogProcessor(settings, topics, kafka_bootstrap, group_id=f"catalog-{topics.assets}")
        server = _health_server(settings, processor)
        assert server is not None and server.port == settings.observability.port
        started.append((processor, server, []))
        return processor, server

    yield make
    for processor, server, _ in started:
        processor.stopping.set()
        thread = getattr(processor, "thread", None)
        if thread is not None:
            thread.join(30)
            assert not thread.is_alive(), "the catalog processor did not stop"
        server.stop()


def run(processor: CatalogProcessor) -> threading.Thread:
    thread = threading.Thread(target=processor.run, name="catalog-processor", daemon=True)
    thread.start()
    processor.thread = thread  # type: ignore[attr-defined]
    return thread


def test_metrics_and_health_of_a_running_processor(catalog_env: CatalogEnv, serve: Callable[[CatalogTopics], Served]) -> None:
    env = catalog_env
    processor, server = serve(env.topics)
    port = server.port
    status, body = health(port, "ready")
    assert status == 503 and set(body["failed"]) == {"loop", "group"}, body  # not running, no assignment yet
    assert health(port, "live")[0] == 200  # starting counts as live
    assert get(port, "/nope")[0] == 404

    encoder = EventEncoder(EventCodec.from_settings(env.settings))
    producer = EventProducer(env.settings, env.bootstrap)
    for job in ("job-1", "job-2", "job-3"):
        producer.send(encoder.message(env.image.image_ready, "proj-q", ready(job, "noir", "preview/embedded-v1", 1, None), TRACE))
    producer.send(OutgoingMessage(env.image.image_ready, b"proj-q", b"\x00not avro"))  # dead-lettered
    producer.flush()
    producer.close()
    run(processor)

    def folded() -> dict | None:
        m = samples(port)
        return m if m.get(("media_stream_catalog_entries_total", ())) == 3 and m.get(("media_stream_catalog_dead_letters_total", ())) == 1 else None

    metrics = wait_for("three entries and one dead letter in /metrics", folded, timeout_s=60)
    assert metrics[("media_stream_catalog_transactions_total", (("outcome", "committed"),))] >= 1
    assert metrics[("media_stream_catalog_transactions_total", (("outcome", "aborted"),))] == 0
    assert metrics[("media_stream_catalog_rebalances_total", (("kind", "assign"),))] >= 1
    assert metrics[("media_stream_catalog_loop_last_turn_timestamp_seconds", ())] > 0

    status, body = health(port, "ready")
    assert status == 200 and body["ready"] and body["failed"] == [], body
    held = set(body["checks"]["group"]["partitions"])
    live = TopicAdmin(env.settings, env.bootstrap).live_topics(list(env.topics.outcomes))
    outcome_partitions = {f"{topic}/{p}" for topic, spec in live.items() for p in range(spec.partitions)}
    assert held == outcome_partitions and body["checks"]["group"]["idle"] is False  # the only member holds them all
    status, body = health(port, "live")
    assert status == 200 and body["phase"] == "running" and body["last_turn_s_ago"] < 30

    def caught_up() -> dict | None:  # lag per partition, from the consumer's lag(); 0 once everything is folded
        lag = {dict(labels)["topic"] + "/" + dict(labels)["partition"]: v for (name, labels), v in samples(port).items() if name == "media_stream_catalog_consumer_lag"}
        return lag if lag and any(k.startswith(env.image.image_ready) for k in lag) and not any(lag.values()) else None

    lag = wait_for("the lag gauge of the folded partition at 0", caught_up, timeout_s=30)
    assert set(lag) <= outcome_partitions

    processor.stopping.set()
    processor.thread.join(30)  # type: ignore[attr-defined]
    assert not processor.thread.is_alive()  # type: ignore[attr-defined]
    status, body = health(port, "ready")
    assert status == 503 and "loop" in body["failed"], body
    status, body = health(port, "live")
    assert status == 503 and body["phase"] == "stopped", body


def test_a_replica_without_partitions_is_ready_but_idle(catalog_env: CatalogEnv, unique_topic: Callable[..., str], serve: Callable[[CatalogTopics], Served]) -> None:
    outcomes = unique_topic("one-partition-outcomes", partitions=1)
    topics = CatalogTopics(outcomes, outcomes, catalog_env.topics.assets, catalog_env.topics.asset_ratings, catalog_env.topics.assets_dlq)
    first, first_server = serve(topics)
    run(first)
    wait_for("the first replica ready", lambda: health(first_server.port, "ready")[0] == 200)
    assert health(first_server.port, "ready")[1]["checks"]["group"]["partitions"] == [f"{outcomes}/0"]

    second, second_server = serve(topics)
    assert health(second_server.port, "ready")[0] == 503
    run(second)
    status, body = wait_for("the second replica ready", lambda: (r := health(second_server.port, "ready"))[0] == 200 and r, timeout_s=60)
    assert body["checks"]["group"] == {"ok": True, "partitions": [], "idle": True}  # a member, with nothing to do
    first_body = health(first_server.port, "ready")[1]
    assert first_body["ready"] and first_body["checks"]["group"]["partitions"] == [f"{outcomes}/0"]  # sticky: the first keeps it
    assert samples(second_server.port)[("media_stream_catalog_rebalances_total", (("kind", "assign"),))] >= 1
