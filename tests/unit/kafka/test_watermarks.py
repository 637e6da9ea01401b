"""watermarks(): a topic just created answers NOT_LEADER for a moment; the query waits it out,
and any other error (or one that lasts past the timeout) still raises."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from media_stream.kafka.consumer import watermarks


class FlakyConsumer:
    """Stands in for a Consumer's watermark query only (the retry rule is what is isolated here)."""

    def __init__(self, failures: list[int]) -> None:
        self.failures = list(failures)
        self.calls = 0

    def get_watermark_offsets(self, _tp: object, timeout: float) -> tuple[int, int]:
        self.calls += 1
        if self.failures:
            raise KafkaException(KafkaError(self.failures.pop(0)))
        return (0, 42)


def test_leadership_errors_right_after_creation_are_waited_out() -> None:
    consumer = FlakyConsumer([KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE])
    assert watermarks(consumer, "t", 0, timeout_s=5) == (0, 42)  # type: ignore[arg-type]
    assert consumer.calls == 3


def test_other_errors_raise_at_once() -> None:
    consumer = FlakyConsumer([KafkaError.TOPIC_AUTHORIZATION_FAILED])
    with pytest.raises(KafkaException):
        watermarks(consumer, "t", 0, timeout_s=5)  # type: ignore[arg-type]
    assert consumer.calls == 1


def test_a_leadership_error_that_lasts_past_the_timeout_raises() -> None:
    consumer = FlakyConsumer([KafkaError.NOT_LEADER_FOR_PARTITION] * 1000)
    with pytest.raises(KafkaException):
        watermarks(consumer, "t", 0, timeout_s=0.3)  # type: ignore[arg-type]
