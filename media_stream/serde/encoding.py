"""Domain events to Kafka messages: Avro value, key, content-type and traceparent headers."""

from __future__ import annotations

from typing import Any

from media_stream.domain.records import to_record
from media_stream.kafka.messages import OutgoingMessage
from media_stream.serde.codec import EventCodec

NAMESPACE = "media.v1"
CONTENT_TYPE = "application/vnd.apache.avro+binary"


def content_type(record_name: str) -> bytes:
    return f"{CONTENT_TYPE}; record={NAMESPACE}.{record_name}".encode()


class EventEncoder:
    def __init__(self, codec: EventCodec) -> None:
        self.codec = codec

    def message(self, topic: str, key: str | bytes | None, event: Any, traceparent: str, extra_headers: tuple = ()) -> OutgoingMessage:
        record_name = type(event).__name__
        value = self.codec.encode(record_name, to_record(event))
        key_bytes = key.encode() if isinstance(key, str) else key
        headers = (("content-type", content_type(record_name)), ("traceparent", traceparent.encode()), *extra_headers)
        return OutgoingMessage(topic=topic, key=key_bytes, value=value, headers=headers)
