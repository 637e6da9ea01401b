"""Is a broker there? A metadata request with confluent-kafka's AdminClient, and nothing more.

Used by the local dev broker (readiness after start, `status`) and by the test fixture. Only
PLAINTEXT bootstrap strings are probed here: the local broker and test brokers have no security.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from media_stream.domain.errors import RetriableError


class BrokerUnavailable(RetriableError):
    """No broker answered a metadata request in time (or the caller told us to give up)."""


@dataclass(frozen=True)
class ClusterSummary:
    cluster_id: str | None
    brokers: int
    topics: int  # topics that are not internal (names not starting with "__")


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "client.id": "media-stream-probe",
            # Connection refused is the expected answer while a broker starts: keep it quiet.
            "log_level": 0,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "socket.connection.setup.timeout.ms": 2000,
        }
    )


def describe_cluster(bootstrap: str, timeout_s: float = 5.0) -> ClusterSummary:
    """One metadata request; raises BrokerUnavailable when none answers within timeout_s."""
    try:
        metadata = _admin(bootstrap).list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise BrokerUnavailable(f"no answer from {bootstrap} within {timeout_s:g}s: {exc}") from exc
    topics = sum(1 for name in metadata.topics if not name.startswith("__"))
    return ClusterSummary(metadata.cluster_id, len(metadata.brokers), topics)


def wait_until_ready(
    bootstrap: str,
    timeout_s: float,
    keep_waiting: Callable[[], bool] = lambda: True,
    attempt_timeout_s: float = 2.0,
) -> int:
    """Repeat metadata requests until a broker answers; returns the number of brokers.

    ``keep_waiting`` is asked between attempts (e.g. "is the broker process still alive?");
    when it says False, or ``timeout_s`` passes, BrokerUnavailable is raised with the last error.
    """
    admin = _admin(bootstrap)
    deadline = time.monotonic() + timeout_s
    last_error = "no attempt made"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerUnavailable(f"no answer from {bootstrap} within {timeout_s:g}s: {last_error}")
        try:
            metadata = admin.list_topics(timeout=max(0.1, min(attempt_timeout_s, remaining)))
        except KafkaException as exc:
            last_error = str(exc)
        else:
            if metadata.brokers:
                return len(metadata.brokers)
            last_error = "metadata listed no brokers"
        if not keep_waiting():
            raise BrokerUnavailable(f"gave up waiting for {bootstrap}: {last_error}")
        time.sleep(0.2)
