"""Publish request events: validated first, keyed by projectId, with a fresh trace."""

from __future__ import annotations

from dataclasses import dataclass

from media_stream.config import Settings
from media_stream.domain.requests import NarrationRequested
from media_stream.kafka.producer import EventProducer
from media_stream.observability.tracing import new_traceparent
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from media_stream.topics.spec import TopicResolver


@dataclass(frozen=True)
class Published:
    job_id: str
    topic: str
    traceparent: str
    estimated_duration_s: float | None = None


class RequestPublisher:
    def __init__(self, settings: Settings, bootstrap: str | None = None, topics: TopicResolver | None = None) -> None:
        self.encoder = EventEncoder(EventCodec.from_settings(settings))
        self.producer = EventProducer(settings, bootstrap)
        self.topics = topics or TopicResolver.load(settings.topics_file)

    def topic_for(self, request: object) -> str:
        """The topic that carries this request's event type (topics.yaml, or the resolver's override)."""
        return self.topics.for_event(type(request).__name__)

    def publish(self, request, topic: str | None = None, headers: tuple[tuple[str, bytes], ...] = ()) -> Published:  # noqa: ANN001 - any request type
        """Validate and send; returns where it went, its trace, and for a narration the estimated
        duration (the original API's ``estimatedDuration``), known before any agent renders it.
        ``headers`` are added to the message (a rerender's ``replay-of``)."""
        request.validate()
        trace = new_traceparent()
        chosen = topic or self.topic_for(request)
        self.producer.send(self.encoder.message(chosen, request.project_id, request, trace, headers))
        estimate = None
        if isinstance(request, NarrationRequested):
            from media_stream.domain.audio_work import estimate_narration

            estimate = estimate_narration(request)
        return Published(request.job_id, chosen, trace, estimate)

    def flush(self, timeout_s: float = 30.0) -> None:
        self.producer.flush(timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        self.producer.close(timeout_s)
