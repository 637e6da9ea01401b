"""A job's outcome events as Server-Sent Events, until the job has ended.

The outcome topics are read from just before the job was published (known when this replica
published it, else ``since`` or ``sse_lookback_s`` ago), outside any group, read_committed. The
end is decided as the SDK's JobHandle does: a terminal status plus its outcome (BatchCompleted
with every ImageReady, AudioReady, or JobFailed); a cancelled status ends at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from media_stream.client.sdk import TERMINAL_STATUSES, decode_outcome
from media_stream.domain import outcomes
from media_stream.domain.records import to_record
from media_stream.kafka.follow import TopicFollower, positions_at

HEARTBEAT_S = 15.0


@dataclass
class JobEnd:
    """Tracks one job's events; ``ended`` once its terminal outcome is complete."""

    status: str | None = None
    ready: int = 0
    batch: outcomes.BatchCompleted | None = None
    audio: bool = False
    failed: bool = False

    def see(self, event: object) -> None:
        if isinstance(event, outcomes.JobStatusChanged) and event.status in TERMINAL_STATUSES:
            self.status = event.status
        elif isinstance(event, outcomes.ImageReady):
            self.ready += 1
        elif isinstance(event, outcomes.BatchCompleted):
            self.batch = event
        elif isinstance(event, outcomes.AudioReady):
            self.audio = True
        elif isinstance(event, outcomes.JobFailed):
            self.failed = True

    @property
    def ended(self) -> bool:
        if self.status == "cancelled":
            return True
        if self.status == "failed":
            return self.failed
        if self.status == "completed":
            return self.audio or (self.batch is not None and self.ready >= self.batch.total_images)
        return False


def sse(event: str, data: Any, event_id: str | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id else []
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in json.dumps(data, default=str).splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def job_events(
    services: Any, job_id: str, since_ms: int, idle_timeout_s: float, render_version: int | None = None
) -> Iterator[str]:
    """SSE text chunks: one ``event: <EventType>`` per outcome of ``job_id``, then ``event: end``
    (or ``event: timeout`` after ``idle_timeout_s`` with nothing new)."""
    settings, bootstrap = services.settings, services.bootstrap
    topics = services.outcome_topics()
    follower = TopicFollower(settings, bootstrap, topics, start=positions_at(settings, bootstrap, topics, since_ms))
    end = JobEnd()
    try:
        yield ": stream of job " + job_id + "\n\n"
        deadline = time.monotonic() + idle_timeout_s
        heartbeat = time.monotonic() + HEARTBEAT_S
        while True:
            now = time.monotonic()
            if now > deadline:
                yield sse("timeout", {"jobId": job_id, "message": f"nothing new for {idle_timeout_s:g}s"})
                return
            if now > heartbeat:
                heartbeat = now + HEARTBEAT_S
                yield ": keep-alive\n\n"
            message = follower.poll(0.2)
            event = decode_outcome(services.client.codec, message.value) if message is not None else None
            if event is None or getattr(event, "job_id", None) != job_id:
                continue
            if render_version is not None and getattr(event, "render_version", render_version) != render_version:
                continue
            deadline = time.monotonic() + idle_timeout_s
            end.see(event)
            yield sse(type(event).__name__, to_record(event), f"{message.topic}:{message.partition}:{message.offset}")  # type: ignore[union-attr]
            if end.ended:
                yield sse("end", {"jobId": job_id, "status": end.status})
                return
    finally:
        follower.close()
