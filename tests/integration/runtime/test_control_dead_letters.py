"""Bad messages on the control topic go to the control DLQ, once, with their bytes and the reason,
from the agent that owns their partition; a valid cancel among them still cancels, requests
still complete, and a restarted agent (which reads the control topic from the beginning again)
does not dead-letter them a second time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from media_stream.config import Settings
from media_stream.domain.outcomes import ImageReady
from media_stream.domain.records import to_record
from media_stream.domain.requests import CancelRequested
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, control_letters, ended, terminal_statuses
from tests.helpers.requests import image, storyboard
from tests.helpers.routes import PARTITIONS
from tests.helpers.scripted_renderer import ScriptedRenderer
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
FRESHNESS_S = 5.0  # an agent answers control messages no older than its start minus this


def owns_everything(running: RunningAgent) -> Callable[[], bool]:
    return lambda: running.agent.health.partitions == tuple(range(PARTITIONS))


class RawProducer:
    """Sends exact bytes and remembers where each message landed."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        self.landed: dict[str, tuple[int, int]] = {}

    def send(self, name: str, topic: str, key: bytes | None, value: bytes | None, headers: tuple = (), partition: int | None = None) -> None:
        def report(err, msg) -> None:  # noqa: ANN001 - confluent_kafka callback
            assert err is None, f"{name}: {err}"
            self.landed[name] = (msg.partition(), msg.offset())

        extra = {} if partition is None else {"partition": partition}
        self.producer.produce(topic, key=key, value=value, headers=list(headers), on_delivery=report, **extra)

    def flush(self) -> None:
        assert self.producer.flush(30) == 0


def test_bad_control_messages_are_dead_lettered_once_by_the_partition_owner(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    codec = EventCodec.from_settings(settings)
    encoder = EventEncoder(codec)
    running = start_agent(ScriptedRenderer(tmp_path / "renders.log", default_delay_s=0.3))
    wait_for("the agent to own every partition", owns_everything(running), timeout_s=60, every_s=0.1)

    raw = RawProducer(kafka_bootstrap)
    requests = lambda *reqs: [encoder.message(routes.requests, r.project_id, r, "") for r in reqs]  # noqa: E731
    for m in requests(storyboard("long", "proj-a", scenes=10)):
        raw.send("long", m.topic, m.key, m.value)
    raw.flush()
    collect(settings, routes, kafka_bootstrap, lambda seen: any(isinstance(e, ImageReady) for _, e in seen))  # "long" is running

    valid_cancel = codec.encode("CancelRequested", to_record(CancelRequested("cancel-long", "long", "proj-a", "changed")))
    bad = {
        "garbage": (b"proj-b", b"not avro at all \xff\xfe"),
        "truncated": (b"proj-c", valid_cancel[: len(valid_cancel) // 2]),
        "wrong-type": (b"proj-d", codec.encode("ImageRequested", to_record(image("x", "proj-d")))),
        "tombstone": (b"proj-e", None),
    }
    raw.send("garbage", routes.control, *bad["garbage"], headers=(("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),))
    for m in requests(image("first", "proj-b")):
        raw.send("first", m.topic, m.key, m.value)
    raw.send("truncated", routes.control, *bad["truncated"])
    raw.send("cancel", routes.control, b"proj-a", valid_cancel)
    for m in requests(image("second", "proj-c")):
        raw.send("second", m.topic, m.key, m.value)
    raw.send("wrong-type", routes.control, *bad["wrong-type"])
    raw.send("tombstone", routes.control, *bad["tombstone"])
    for m in requests(image("third", "proj-d")):
        raw.send("third", m.topic, m.key, m.value)
    raw.flush()
    published_at = time.monotonic()

    seen = collect(settings, routes, kafka_bootstrap, ended({"long", "first", "second", "third"}))
    statuses = terminal_statuses(seen)
    assert statuses["long"] == ["cancelled"], "the valid cancel among the bad messages still cancels"
    assert statuses["first"] == statuses["second"] == statuses["third"] == ["completed"]
    wait_for("the bad control messages to be dead-lettered", lambda: running.agent.counters["control_dead_letters"] == len(bad), timeout_s=30, every_s=0.1)
    running.stop()

    letters = control_letters(settings, routes, kafka_bootstrap, codec)
    by_position = {(e.source_partition, e.source_offset): e for e in letters}
    assert len(letters) == len(by_position) == len(bad), "each bad control message is dead-lettered exactly once"
    assert {raw.landed[name] for name in bad} == set(by_position)
    assert len({raw.landed[name][0] for name in bad}) > 1, "the bad messages span partitions"
    expected_class = {"garbage": "UndecodableMessage", "truncated": "UndecodableMessage", "wrong-type": "UnexpectedEventType", "tombstone": "UndecodableMessage"}
    for name, (key, value) in bad.items():
        letter = by_position[raw.landed[name]]
        assert letter.source_topic == routes.control
        assert (letter.key, letter.value) == (key, value), f"{name}: the dead letter keeps the original bytes"
        assert letter.error_class == expected_class[name] and letter.error_message, name
    assert "ImageRequested is not a control event" in by_position[raw.landed["wrong-type"]].error_message
    assert "tombstone" in by_position[raw.landed["tombstone"]].error_message
    assert [(h.key, h.value) for h in by_position[raw.landed["garbage"]].headers] == [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]

    # A restarted agent reads the control topic from the beginning again: it dead-letters what
    # arrives now, not again what the last owner dead-lettered (those it reads before it owns the
    # partitions, or that are older than its start, are the last owner's business).
    time.sleep(max(0.0, FRESHNESS_S + 1.0 - (time.monotonic() - published_at)))
    restarted = start_agent(ScriptedRenderer(tmp_path / "renders.log"))
    wait_for("the restarted agent to own every partition", owns_everything(restarted), timeout_s=60, every_s=0.1)
    for partition in range(PARTITIONS):
        raw.send(f"after-restart-{partition}", routes.control, b"proj-z", b"still not avro", partition=partition)
    raw.flush()
    wait_for("the new bad messages to be dead-lettered", lambda: restarted.agent.counters["control_dead_letters"] >= PARTITIONS, timeout_s=30, every_s=0.1)
    restarted.stop()
    letters = control_letters(settings, routes, kafka_bootstrap, codec)
    positions = [(e.source_partition, e.source_offset) for e in letters]
    assert len(positions) == len(set(positions)) == len(bad) + PARTITIONS
    assert set(positions) == {raw.landed[name] for name in raw.landed if name in bad or name.startswith("after-restart")}
