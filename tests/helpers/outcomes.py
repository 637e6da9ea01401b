"""Outcomes as a read_committed subscriber sees them: ``collect`` until a condition holds (``ended``),
``collect_to_end`` until the topics' end offsets; the control dead letters; an ImageReady built
as an agent would publish it.

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
from collections import Counter
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from media_stream.client.job_end import OUTCOME_TYPES
from media_stream.client.subscriber import OutcomeSubscriber
from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, DeadLetter, ImageReady, JobFailed, JobStatus, JobStatusChanged
from media_stream.domain.records import from_record
from media_stream.domain.requests import Scene, StoryboardRequested, StyleConfig
from media_stream.kafka.partition_reader import read_to_end
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from tests.helpers.routes import outcome_topics

Seen = list[tuple[str, object]]
TERMINAL = {s.value for s in JobStatus if s.terminal}


def collect(settings: Settings, routes: AgentRoutes, bootstrap: str, until: Callable[[list], bool], timeout_s: float = 60.0) -> list[tuple[str, object]]:
    """Outcomes as a read_committed subscriber sees them, until ``until(seen)`` holds."""
    subscriber = OutcomeSubscriber(settings, outcome_topics(routes), bootstrap)
    seen: list[tuple[str, object]] = []
    try:
        for pair in subscriber.events(timeout_s=timeout_s):
            seen.append(pair)
            if until(seen):
                return seen
    finally:
        subscriber.close()
    raise AssertionError(f"outcomes stopped arriving before the expected end; got {[type(e).__name__ for _, e in seen]}")


def terminal_statuses(seen: list) -> dict[str, list[str]]:
    """The terminal statuses per job id, in arrival order."""
    out: dict[str, list[str]] = {}
    for _, e in seen:
        if isinstance(e, JobStatusChanged) and e.status in TERMINAL:
            out.setdefault(e.job_id, []).append(e.status)
    return out


def ended(jobs: set[str]) -> Callable[[list], bool]:
    """Every job has its terminal status and, topics being read in no joint order, its outcome events."""

    def check(seen: list) -> bool:
        statuses = terminal_statuses(seen)
        if not jobs <= set(statuses):
            return False
        batches = {e.job_id: e for _, e in seen if isinstance(e, BatchCompleted)}
        failed = {e.job_id for _, e in seen if isinstance(e, JobFailed)}
        ready = Counter(e.job_id for _, e in seen if isinstance(e, ImageReady))
        for job in jobs:
            last = statuses[job][-1]
            if last == "completed" and (job not in batches or ready[job] < batches[job].total_images):
                return False
            if last == "failed" and job not in failed:
                return False
        return True

    return check


def control_letters(settings: Settings, routes: AgentRoutes, bootstrap: str, codec: EventCodec) -> list[DeadLetter]:
    """Every dead letter on the routes' control DLQ."""
    assert routes.control_dead_letters
    messages = read_to_end(settings, bootstrap, [(routes.control_dead_letters, 0)])[(routes.control_dead_letters, 0)]
    return [from_record(DeadLetter, codec.decode(m.value).value) for m in messages if m.value is not None]


def ready(job: str, style: str, model: str, version: int, score: float | None, characters: dict[str, float] | None = None) -> ImageReady:
    """An ImageReady for one scene of project ``proj-q``, as an agent publishes it (for the catalog)."""
    source = StoryboardRequested(f"req-{job}", job, "proj-q", render_version=version, scenes=(Scene("s0", "a fox"),), style_config=StyleConfig(style=style, seed=7))
    return ImageReady(job, "proj-q", f"req-{job}", version, scene_id="s0", url="file:///x", storage_key=f"images/proj-q/{job}/s0/{version}.png",
                      width=64, height=64, seed=7, prompt="a fox", model=model, sha256="0" * 64, consistency_score=score, character_scores=characters, source_request=source)  # fmt: skip


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
