"""Follow outcome topics as a read_committed subscriber, decoded into domain events."""

from __future__ import annotations

import time
import uuid
from typing import Iterable, Iterator

from media_stream.client.job_end import decode_outcome
from media_stream.config import Settings
from media_stream.kafka.consumer import EventConsumer
from media_stream.serde.codec import EventCodec


class OutcomeSubscriber:
    def __init__(self, settings: Settings, topics: Iterable[str], bootstrap: str | None = None, group_id: str | None = None) -> None:
        self.codec = EventCodec.from_settings(settings)
        group = group_id or f"media-stream-subscriber-{uuid.uuid4().hex[:12]}"
        self.consumer = EventConsumer(settings, group, topics, bootstrap, **{"enable.auto.commit": True})

    def events(self, timeout_s: float) -> Iterator[tuple[str, object]]:
        """(topic, event) pairs until ``timeout_s`` passes with nothing new."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = self.consumer.poll(0.2)
            if message is None or message.value is None:
                continue
            event = decode_outcome(self.codec, message.value)
            if event is not None:
                deadline = time.monotonic() + timeout_s
                yield message.topic, event

    def close(self) -> None:
        self.consumer.close()
