"""The local KRaft broker against the real thing: lifecycle, transactions, startup failures.

Brokers started here: the session's (``kafka_bootstrap``), one isolated LocalKafka (started,
restarted), and one that fails at startup. The jar cache is shared with the session's broker.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from media_stream.config import Settings
from media_stream.dev.kafka_jars import ensure_jars
from media_stream.dev.local_kafka import LocalKafka, LocalKafkaError
from media_stream.dev.server_properties import new_cluster_id
from media_stream.domain.errors import ConfigurationError
from media_stream.kafka.config import local_state_path

pytestmark = pytest.mark.kafka

STATE_KEYS = {"bootstrap", "pid", "port", "controller_port", "data_dir", "log_file", "version"}


def _settings(**local_kafka: object) -> Settings:
    """The environment's settings (shared jar cache) with ephemeral ports unless told otherwise."""
    settings = Settings()
    local = settings.local_kafka.model_copy(update={"port": 0, **local_kafka})
    return settings.model_copy(update={"local_kafka": local})


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_isolated_broker_starts_answers_restarts_on_same_ports_and_stops(tmp_path: Path) -> None:
    settings = _settings()
    broker = LocalKafka(settings, data_dir=tmp_path / "broker")
    assert broker.state_path == tmp_path / "broker" / "state.json"  # never the dev broker's entry
    assert not broker.status().running

    first = broker.start()
    assert not first.already_running
    host, port = first.bootstrap.rsplit(":", 1)
    assert host == "127.0.0.1"
    state = json.loads(broker.state_path.read_text())
    assert STATE_KEYS <= state.keys()
    assert (state["bootstrap"], state["pid"], state["port"]) == (first.bootstrap, first.pid, int(port))
    assert state["version"] == settings.local_kafka.kafka_version

    status = broker.status()
    assert status.healthy and status.pid == first.pid and status.topics == 0
    assert status.bootstrap == first.bootstrap and status.version == settings.local_kafka.kafka_version
    # Logging goes through our log4j2 config to server.log, not to the JVM's stdout.
    assert "Kafka Server started" in broker.log_file.read_text()
    assert "Kafka Server started" not in broker.stdout_file.read_text()

    again = LocalKafka(settings, data_dir=tmp_path / "broker").start()  # another handle, same broker
    assert again.already_running and again.pid == first.pid and again.bootstrap == first.bootstrap
    assert again.seconds < 5

    assert broker.stop() is True
    assert not broker.state_path.exists()
    assert not _pid_exists(first.pid)
    assert not broker.status().running
    assert broker.stop() is False

    # `dev up` after `dev down`: same data, same ports (they are free again); the context
    # manager stops what it started.
    with LocalKafka(settings, data_dir=tmp_path / "broker") as restarted:
        assert restarted.bootstrap == first.bootstrap
        second_pid = json.loads(restarted.state_path.read_text())["pid"]
        assert second_pid != first.pid and restarted.status().healthy
    assert not restarted.state_path.exists()
    assert not _pid_exists(second_pid)


def test_default_state_file_is_the_one_resolve_bootstrap_reads(tmp_path: Path) -> None:
    settings = _settings(home=tmp_path / "home")
    broker = LocalKafka(settings)
    assert broker.state_path == local_state_path(settings)
    assert broker.data_dir == tmp_path / "home" / "data"


def test_transactions_and_consumer_groups_work_on_the_single_node(kafka_bootstrap: str, unique_topic) -> None:
    topic = unique_topic("txn-round-trip", partitions=2)
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"test-{uuid.uuid4().hex}", "linger.ms": 1}
    )
    producer.init_transactions(60)

    def transaction(values: list[str], commit: bool) -> None:
        producer.begin_transaction()
        for value in values:
            producer.produce(topic, key=value.encode(), value=value.encode())
        producer.flush(30)
        if commit:
            producer.commit_transaction(60)
        else:
            producer.abort_transaction(60)

    transaction(["committed-0", "committed-1", "committed-2"], commit=True)
    transaction(["aborted-0"], commit=False)
    transaction(["committed-3"], commit=True)

    group = f"test-{uuid.uuid4().hex}"
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": group,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while len(seen) < 4 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            seen.append(message.value().decode())
        assert sorted(seen) == ["committed-0", "committed-1", "committed-2", "committed-3"]
        assert consumer.poll(1.0) is None  # the aborted record never shows up

        consumer.commit(asynchronous=False)  # the offsets topic works with one replica
        committed = consumer.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=30)
        assert sum(tp.offset for tp in committed) >= 4
    finally:
        consumer.close()


def test_startup_failure_names_the_cause_from_the_log(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = LocalKafka(_settings(port=port, start_timeout_s=90), data_dir=tmp_path / "broker")
        with pytest.raises(LocalKafkaError) as failure:
            broker.start()
    message = str(failure.value)
    assert f"127.0.0.1:{port}" in message
    assert "exited with code" in message
    assert "Address already in use" in message  # from the broker's own log
    assert str(broker.log_file) in message
    assert not broker.state_path.exists()
    assert not broker.status().running


def test_missing_maven_is_a_clear_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither mvn nor java to be found
    with pytest.raises(ConfigurationError, match="mvn not found"):
        ensure_jars(tmp_path / "home", "4.4.0")


def test_cluster_ids_never_look_like_an_option() -> None:
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
