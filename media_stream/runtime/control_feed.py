"""The control topic, read whole by every agent: a cancel reaches whichever agent holds the job.

Control events are few. Every agent reads every partition of the control topic from the start,
outside the consumer group, on its own thread, and hands the decoded cancels to the agent's
loop. The agent that owns the project's partition answers; the others only remember the cancel,
in case the job reaches them later (after a rebalance).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from media_stream.config import Settings
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.records import from_record
from media_stream.domain.requests import CancelRequested
from media_stream.kafka.follow import TopicFollower
from media_stream.serde.codec import EventCodec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControlEvent:
    partition: int
    timestamp_ms: int | None
    cancel: CancelRequested


class ControlFeed:
    def __init__(self, settings: Settings, bootstrap: str | None, topic: str, codec: EventCodec) -> None:
        self._reader = TopicFollower(settings, bootstrap, [topic], from_beginning=True)
        self._codec = codec
        self._events: queue.Queue[ControlEvent] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="control-feed", daemon=True)
        self._thread.start()

    def drain(self) -> list[ControlEvent]:
        events = []
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
            if msg is None or msg.value is None:
                continue
            try:
                decoded = self._codec.decode(msg.value)
                if decoded.record_name != "CancelRequested":
                    raise MediaStreamError(f"{decoded.record_name} is not a control event")
                cancel = from_record(CancelRequested, decoded.value)
                cancel.validate()
            except (MediaStreamError, TypeError, KeyError) as exc:
                log.warning("ignoring control message at %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
                continue
            self._events.put(ControlEvent(msg.partition, msg.timestamp_ms, cancel))
