"""EventConsumer against a stand-in for librdkafka's consumer: a revoke that runs inside the drain
of a batch, and the generation read from the group metadata (no broker)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from media_stream.config import Settings
from media_stream.kafka import consumer as consumer_module
from media_stream.kafka.consumer import EventConsumer, metadata_generation


class _Message:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._tp = (topic, partition, offset)

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._tp[0]

    def partition(self) -> int:
        return self._tp[1]

    def offset(self) -> int:
        return self._tp[2]

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, 1000)


class _TopicPartition:
    def __init__(self, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition


class _Librdkafka:
    """poll returns p0@0; consume returns p0@1 and p1@0, after serving a revoke of p0 (as
    librdkafka may, inside the same call), then p1@1."""

    def __init__(self, conf: dict[str, Any]) -> None:
        self.callbacks: dict[str, Any] = {}

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.callbacks = callbacks

    def poll(self, timeout: float) -> _Message:
        return _Message("requests", 0, 0)

    def consume(self, n: int, timeout: float) -> list[_Message]:
        first = [_Message("requests", 0, 1), _Message("requests", 1, 0)]
        self.callbacks["on_revoke"](self, [_TopicPartition("requests", 0)])
        return first + [_Message("requests", 1, 1)]


def test_messages_of_a_partition_revoked_inside_the_drain_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer_module, "Consumer", _Librdkafka)
    revoked: list[list[tuple[str, int]]] = []
    consumer = EventConsumer(Settings(), "group", ["requests"], "broker:9092", on_assign=lambda p: None, on_revoke=revoked.append, on_lost=lambda p: None)
    got = [(m.partition, m.offset) for m in consumer.consume(10, 0.1)]
    assert revoked == [[("requests", 0)]]
    assert got == [(1, 0), (1, 1)]  # p0's messages (polled before the revoke, or drained after it) are gone


def _metadata(generation: int, member: str) -> bytes:
    return b"CGMDv2:" + generation.to_bytes(4, sys.byteorder, signed=True) + b"group\x00" + member.encode() + b"\x00\x01"


def test_the_generation_and_member_are_read_from_librdkafkas_group_metadata() -> None:
    assert metadata_generation(_metadata(7, "rdkafka-1")) == (7, "rdkafka-1")
    assert metadata_generation(_metadata(-1, "")) == (-1, "")  # between losing the group and rejoining
    assert metadata_generation(b"something else") == (-1, "")
