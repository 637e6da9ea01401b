"""The control topic, read whole by every agent: a cancel reaches whichever agent holds the job.

Control events are few. Every agent reads every partition of the control topic from the start,
outside the consumer group, on its own thread, and hands what it read to the agent's loop
through a queue, in offset order: decoded cancels, and the messages that are not a valid cancel
(with the reason). The agent that owns the project's partition answers a cancel; the others only
remember it, in case the job reaches them later (after a rebalance). A message that is not a
valid cancel is dead-lettered by the agent that owns requests partition p when it reads it from
control partition p (the topics are co-partitioned), in its next transaction; the others drop it.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from media_stream.config import Settings
from media_stream.domain.errors import MediaStreamError, PermanentError, UndecodableMessage, UnexpectedEventType
from media_stream.domain.records import from_record
from media_stream.domain.requests import CancelRequested
from media_stream.kafka.follow import TopicFollower
from media_stream.kafka.messages import ConsumedMessage
from media_stream.serde.codec import EventCodec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControlEvent:
    partition: int
    timestamp_ms: int | None
    cancel: CancelRequested


@dataclass(frozen=True)
class RejectedControl:
    """A control message that is not a valid cancel, and why: its partition's owner dead-letters it."""

    message: ConsumedMessage
    error: PermanentError

    @property
    def partition(self) -> int:
        return self.message.partition

    @property
    def timestamp_ms(self) -> int | None:
        return self.message.timestamp_ms


def decode_cancel(codec: EventCodec, message: ConsumedMessage) -> CancelRequested:
    """A control message to a validated cancel, or a PermanentError saying why not."""
    if message.value is None:
        raise UndecodableMessage("message has no value (tombstone) on the control topic")
    decoded = codec.decode(message.value)
    if decoded.record_name != "CancelRequested":
        raise UnexpectedEventType(f"{decoded.record_name} is not a control event (the control topic carries CancelRequested)")
    try:
        cancel = from_record(CancelRequested, decoded.value)
    except (TypeError, KeyError) as exc:
        raise UndecodableMessage(f"CancelRequested does not fit its domain type: {exc}") from exc
    cancel.validate()
    return cancel


class ControlFeed:
    def __init__(self, settings: Settings, bootstrap: str | None, topic: str, codec: EventCodec) -> None:
        self._reader = TopicFollower(settings, bootstrap, [topic], from_beginning=True)
        self._codec = codec
        self._events: queue.Queue[ControlEvent | RejectedControl] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="control-feed", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """The feed's thread is still reading."""
        return self._thread.is_alive()

    def drain(self) -> list[ControlEvent | RejectedControl]:
        """What the feed read since the last drain, in offset order per partition (loop thread)."""
        events: list[ControlEvent | RejectedControl] = []
        try:
            while True:
                events.append(self._events.get_nowait())
        except queue.Empty:
            return events

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._reader.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._reader.poll(0.2)
            except MediaStreamError as exc:  # the feed keeps going; librdkafka reconnects on its own
                log.warning("control feed: %s", exc)
                continue
            if msg is None:
                continue
            try:
                cancel = decode_cancel(self._codec, msg)
            except PermanentError as exc:
                log.warning("rejecting control message at %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
                self._events.put(RejectedControl(msg, exc))
                continue
            except (MediaStreamError, TypeError, KeyError) as exc:  # not the message's fault: skipped
                log.warning("ignoring control message at %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
                continue
            self._events.put(ControlEvent(msg.partition, msg.timestamp_ms, cancel))
