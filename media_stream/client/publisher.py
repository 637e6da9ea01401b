"""Publish request events: validated first, keyed by projectId, with a fresh trace."""

from __future__ import annotations

from media_stream.config import Settings
from media_stream.domain.requests import CancelRequested, MusicRequested, NarrationRequested
from media_stream.kafka.producer import EventProducer
from media_stream.runtime.encoding import EventEncoder
from media_stream.runtime.tracing import new_traceparent
from media_stream.serde.codec import EventCodec

IMAGE_REQUESTS = "media.image.requested.v1"
AUDIO_REQUESTS = "media.audio.requested.v1"
CONTROL = "media.control.v1"


def topic_for(request: object) -> str:
    if isinstance(request, CancelRequested):
        return CONTROL
    if isinstance(request, (NarrationRequested, MusicRequested)):
        return AUDIO_REQUESTS
    return IMAGE_REQUESTS


class RequestPublisher:
    def __init__(self, settings: Settings, bootstrap: str | None = None) -> None:
        self.encoder = EventEncoder(EventCodec.from_settings(settings))
        self.producer = EventProducer(settings, bootstrap)

    def publish(self, request, topic: str | None = None) -> str:  # noqa: ANN001 - any request type
        """Validate and send; returns the traceparent the outcomes will continue."""
        request.validate()
        trace = new_traceparent()
        self.producer.send(self.encoder.message(topic or topic_for(request), request.project_id, request, trace))
        return trace

    def flush(self, timeout_s: float = 30.0) -> None:
        self.producer.flush(timeout_s)
