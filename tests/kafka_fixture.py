"""pytest plugin: a real Kafka broker for the tests that ask for one, and fresh topics per test.

``kafka_bootstrap`` (session) finds a broker in this order:

1. ``KAFKA_BOOTSTRAP_SERVERS`` when set (a broker you run; it must answer within 30 s);
2. a testcontainers ``KafkaContainer`` when a Docker engine answers a ping within 3 s
   (``MEDIA_STREAM_TEST_KAFKA=local`` skips this step; ``MEDIA_STREAM_TEST_KAFKA_IMAGE`` picks
   the image);
3. a ``LocalKafka`` of its own: an isolated data dir under pytest's tmp dir, ephemeral ports,
   the jar cache shared at ``~/.media-stream/kafka`` (or ``MEDIA_STREAM_LOCAL_KAFKA__HOME``).

No broker at all is a test failure with the reason, never a skip. What the session started,
it stops at the end.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from media_stream.config import Settings
from media_stream.kafka.admin import await_leaders
from media_stream.kafka.probe import BrokerUnavailable, wait_until_ready

DEFAULT_IMAGE = "confluentinc/cp-kafka:7.9.0"  # KRaft; testcontainers' KafkaContainer expects cp-kafka
DOCKER_PING_TIMEOUT_S = 3


def _docker_answers() -> bool:
    """True when a Docker engine answers a ping quickly; never raises, never hangs."""
    host = os.environ.get("DOCKER_HOST")
    if not host and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker

        client = docker.from_env(timeout=DOCKER_PING_TIMEOUT_S)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no engine, no permission, no docker package: all mean "not this way"
        return False


def _start_container() -> tuple[str, Callable[[], None]]:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers < 4.14
        from testcontainers.kafka import KafkaContainer

    container = (
        KafkaContainer(os.environ.get("MEDIA_STREAM_TEST_KAFKA_IMAGE", DEFAULT_IMAGE))
        .with_kraft()
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    container.start(timeout=120)
    return container.get_bootstrap_server(), container.stop


def _start_local(data_dir: Path) -> tuple[str, Callable[[], None]]:
    from media_stream.dev.local_kafka import LocalKafka

    settings = Settings()  # reads MEDIA_STREAM_LOCAL_KAFKA__HOME etc.: the jar cache is shared
    local = settings.local_kafka.model_copy(update={"port": 0})  # never the dev broker's fixed port
    broker = LocalKafka(settings.model_copy(update={"local_kafka": local}), data_dir=data_dir)
    outcome = broker.start()
    return outcome.bootstrap, broker.stop


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a real Kafka broker for this test session."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        problem = None
        try:
            wait_until_ready(configured, timeout_s=30)
        except BrokerUnavailable as exc:  # failed outside the handler: no exception chain in the report
            problem = f"KAFKA_BOOTSTRAP_SERVERS={configured} is set but no broker answers: {exc}"
        if problem:
            pytest.fail(problem, pytrace=False)
        yield configured
        return

    failures: list[str] = []
    stop: Callable[[], None] | None = None
    if os.environ.get("MEDIA_STREAM_TEST_KAFKA", "auto") != "local" and _docker_answers():
        try:
            bootstrap, stop = _start_container()
        except Exception as exc:  # the engine answered but the container did not come up
            failures.append(f"testcontainers Kafka: {exc}")
            warnings.warn(f"Kafka container failed, falling back to a local broker: {exc}", stacklevel=1)
    if stop is None:
        try:
            bootstrap, stop = _start_local(tmp_path_factory.mktemp("kafka"))
        except Exception as exc:  # reported below with every way that was tried
            failures.append(f"local Kafka from Maven Central jars: {exc}")
    if stop is None:
        pytest.fail(
            "no Kafka broker for the tests. Set KAFKA_BOOTSTRAP_SERVERS, run a Docker engine, or "
            "install Java 17+ and Maven for the local broker.\n" + "\n".join(failures),
            pytrace=False,
        )
    try:
        yield bootstrap
    finally:
        stop()


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    """An AdminClient on the session's broker."""
    return AdminClient({"bootstrap.servers": kafka_bootstrap, "client.id": "media-stream-tests"})


@pytest.fixture
def unique_topic(kafka_admin: AdminClient, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """A factory: ``unique_topic(prefix="t", partitions=1, config=None) -> name``.

    Each call creates a topic no other test uses (prefix + random suffix), waits until every
    partition has a leader, and deletes it when the test ends.
    """
    created: list[str] = []

    def create(prefix: str | None = None, partitions: int = 1, config: dict[str, str] | None = None) -> str:
        base = re.sub(r"[^a-zA-Z0-9._-]+", "-", prefix or request.node.name)[:180]
        name = f"{base}.{uuid.uuid4().hex[:10]}"
        futures = kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
            operation_timeout=30,
        )
        futures[name].result(timeout=60)
        created.append(name)
        await_leaders(kafka_admin, name, partitions)
        return name

    yield create
    if created:
        for future in kafka_admin.delete_topics(created, operation_timeout=30).values():
            try:
                future.result(timeout=30)
            except KafkaException:
                pass  # best effort: the name is unique, a leftover harms no other test

