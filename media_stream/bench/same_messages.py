"""The messages our agent publishes for one ImageRequested, built without the agent.

The same-messages loop and the Quix Streams peer of ``bench pipeline`` publish these, so that
their throughput against ours measures our runtime (scheduling, render thread, ledger, state
tables, committer), not the messages our design asks for: three JobStatusChanged (queued,
processing, completed; keyed by jobId), one ImageReady and one BatchCompleted (keyed by
projectId), and the RequestHandled dedupe record (to the request's partition of the dedupe
changelog). Everything here must import in the peer's own virtual environment (no Kafka client).
"""

from __future__ import annotations

from dataclasses import dataclass

from media_stream.domain.outcomes import BatchCompleted, ImageReady, ImageSummary, JobStatusChanged
from media_stream.domain.records import to_record
from media_stream.kafka.messages import OutgoingMessage
from media_stream.serde.encoding import EventEncoder
from media_stream.state.records import RequestHandled, handled_key

TRACEPARENT = "00-" + "7" * 32 + "-" + "8" * 16 + "-01"
PNG_SHA256 = "0" * 64


@dataclass(frozen=True)
class Topics:
    status: str
    ready: str
    batch: str
    dedupe: str


@dataclass(frozen=True)
class Outcome:
    dedupe_key: str
    dedupe_value: bytes  # the RequestHandled row for the dedupe changelog, to the request's partition
    messages: list[OutgoingMessage]  # the five outcome messages, in the agent's order


def outcome_of(encoder: EventEncoder, topics: Topics, value: bytes, status_partition: int | None) -> Outcome:
    """What the agent publishes for the request ``value``; ``status_partition`` is where the
    status goes (None: the partitioner picks from the jobId)."""
    request = encoder.codec.decode(value).value
    job, project, request_id, version = request["jobId"], request["projectId"], request["requestId"], request.get("renderVersion", 1)
    key = f"images/{project}/{job}/scene-1/v{version}.png"
    ready = ImageReady(job, project, request_id, version, scene_id="scene-1", scene_index=0, url=f"memory://{key}", storage_key=key,
                       width=request["width"], height=request["height"], seed=request.get("seed") or 0, prompt=request["prompt"],
                       model="null (benchmark renderer: no image work)", sha256=PNG_SHA256)
    completed = BatchCompleted(job, project, request_id, version, total_images=1, images=(ImageSummary("scene-1", ready.url, key, PNG_SHA256),))

    def status(state: str, progress: float) -> OutgoingMessage:
        message = encoder.message(topics.status, job, JobStatusChanged(job, project, state, request_id, progress, None, version), TRACEPARENT)
        return message if status_partition is None else OutgoingMessage(message.topic, message.key, message.value, message.headers, status_partition)

    record = RequestHandled(request_id, job, project, "completed", version)
    return Outcome(handled_key(project, request_id, version), encoder.codec.encode("RequestHandled", to_record(record)), [
        status("queued", 0.0),
        status("processing", 0.0),
        encoder.message(topics.ready, project, ready, TRACEPARENT),
        encoder.message(topics.batch, project, completed, TRACEPARENT),
        status("completed", 1.0),
    ])
