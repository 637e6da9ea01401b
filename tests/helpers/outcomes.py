"""Outcomes as a read_committed subscriber sees them, read until the topics' end offsets.

``collect_to_end`` reads every outcome topic from the beginning (assigned, no group) until
``until(seen)`` holds, then takes the end offsets of every partition *at that moment* and keeps
reading until its position reaches them. A read_committed position only passes an open
transaction once it is committed or aborted, so a zombie's late commit, or a duplicate published
after the last job ended, is in what the test asserts on, not lost because the collection stopped
at the first complete picture. ``settle_s`` waits that long after ``until`` first holds before the
end offsets are taken (time for a resumed zombie to publish what it still holds).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from media_stream.client.job_end import OUTCOME_TYPES
from media_stream.config import Settings
from media_stream.domain.records import from_record
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from tests.integration.runtime.conftest import outcome_topics

Seen = list[tuple[str, object]]


def collect_to_end(
    settings: Settings,
    routes: AgentRoutes,
    bootstrap: str,
    until: Callable[[Seen], bool],
    timeout_s: float = 120.0,
    settle_s: float = 0.0,
    before_end: Callable[[], None] | None = None,
) -> Seen:
    """``before_end`` runs once when ``until`` first holds (e.g. SIGCONT a paused zombie), before the settle."""
    codec = EventCodec.from_settings(settings)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"faults-collector-{uuid.uuid4().hex[:10]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 50,
        }
    )
    topics = outcome_topics(routes)
    metadata = consumer.list_topics(timeout=30)
    partitions = [TopicPartition(t, p, 0) for t in topics for p in metadata.topics[t].partitions]
    consumer.assign(partitions)
    seen: Seen = []
    ends: dict[tuple[str, int], int] | None = None
    settled_at = 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                state = "end offsets not reached" if ends is not None else "the expected end never came"
                raise AssertionError(f"collect_to_end: {state} within {timeout_s:g}s; got {_summary(seen)}")
            for message in consumer.consume(500, 0.2):
                if message.error() or message.value() is None:
                    continue
                decoded = codec.decode(message.value())
                cls = OUTCOME_TYPES.get(decoded.record_name)
                if cls is not None:
                    seen.append((message.topic(), from_record(cls, decoded.value)))
            if ends is None and not settled_at and until(seen):
                if before_end is not None:
                    before_end()
                settled_at = time.monotonic() + settle_s
            if ends is None and settled_at and time.monotonic() >= settled_at:
                ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
            if ends is not None:
                positions = {(tp.topic, tp.partition): tp.offset for tp in consumer.position(partitions)}
                if all(positions[tp] >= end or end == 0 for tp, end in ends.items()):
                    return seen
    finally:
        consumer.close()


def _summary(seen: Seen) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, e in seen:
        counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1
    return counts
