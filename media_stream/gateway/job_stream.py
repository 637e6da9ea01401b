"""A job's outcome events as Server-Sent Events, until the job has ended.

The outcome topics are read from just before the job was published (known when this replica
published it, else ``since`` or ``sse_lookback_s`` ago), outside any group, read_committed. The
end is the one job-end rule (``media_stream.client.job_end.JobEnd``): the terminal status and
event, and every image that event lists; a cancelled status ends at once. ``data:`` is JSON with
times as RFC 3339 ``Z`` (``media_stream.serde.json_values``). When no agent consumes the job's
request topic, an ``event: notice`` says so within seconds, and the stream keeps waiting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from media_stream.client.job_end import JobEnd, decode_outcome
from media_stream.client.listeners import ListenerCheck
from media_stream.domain.records import to_record
from media_stream.kafka.follow import TopicFollower, positions_at
from media_stream.serde.json_values import dumps

HEARTBEAT_S = 15.0


def sse(event: str, data: Any, event_id: str | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id else []
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in dumps(data).splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def job_events(
    services: Any, job_id: str, since_ms: int, idle_timeout_s: float, render_version: int | None = None
) -> Iterator[str]:
    """SSE text chunks: one ``event: <EventType>`` per outcome of ``job_id``, then ``event: end``
    (or ``event: timeout`` after ``idle_timeout_s`` with nothing new)."""
    settings, bootstrap = services.settings, services.bootstrap
    topics = services.outcome_topics()
    follower = TopicFollower(settings, bootstrap, topics, start=positions_at(settings, bootstrap, topics, since_ms))
    end = JobEnd(job_id, render_version)
    listeners = services.listener_check(job_id)
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
            notice = listeners.notice() if listeners is not None and end.status is None else None
            if notice:
                yield sse("notice", {"jobId": job_id, "medium": listeners.medium, "topic": listeners.topic, "listening": listeners.listening, "message": notice})  # type: ignore[union-attr]
            message = follower.poll(0.2)
            event = decode_outcome(services.client.codec, message.value) if message is not None else None
            if event is None or not end.see(event):
                continue
            deadline = time.monotonic() + idle_timeout_s
            yield sse(type(event).__name__, to_record(event), f"{message.topic}:{message.partition}:{message.offset}")  # type: ignore[union-attr]
            if end.ended:
                yield sse("end", {"jobId": job_id, "status": end.final_status})
                return
    finally:
        follower.close()
