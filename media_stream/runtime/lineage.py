"""Where an outcome's request came from: its position, and the replay-of header a replay or a
rerender set on it (topic/partition/offset of the original)."""

from __future__ import annotations

from media_stream.kafka.messages import ConsumedMessage

REPLAY_OF = "replay-of"


def request_source(message: ConsumedMessage) -> str:
    return f"{message.topic}/{message.partition}/{message.offset}"


def replay_of(message: ConsumedMessage) -> str | None:
    value = message.header(REPLAY_OF)
    return value.decode("utf-8", "replace") if value else None
