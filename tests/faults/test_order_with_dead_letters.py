"""One project's good, bad and duplicate requests interleaved: a storyboard still rendering, then an
invalid request, a render that fails, bytes that decode as nothing, an event of the wrong type,
a request cancelled before it arrived, re-sent requestIds. Requests that end at once (dead
letters, duplicates, a cancel remembered) must not end ahead of the earlier ones still rendering:
the project's terminal statuses, JobFailed and DeadLetters come in its request order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer

from media_stream.config import Settings
from media_stream.domain.outcomes import DeadLetter, JobStatusChanged
from media_stream.domain.records import to_record
from media_stream.domain.requests import CancelRequested, ImageRequested
from media_stream.serde.encoding import EventEncoder
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from media_stream.serde.encoding import EventEncoder
from tests.faults.invariants import all_ended, assert_accounted, terminal_statuses
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect_to_end
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka
PROJECT = "proj-o"


def test_a_projects_outcomes_dead_letters_included_come_in_request_order(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    running = start_agent(ScriptedRenderer(tmp_path / "renders.log", default_delay_s=0.3))
    codec = EventCodec.from_settings(settings)
    encoder = EventEncoder(codec)
    publish(settings, kafka_bootstrap, routes, CancelRequested("cancel-e", "e-cancelled", PROJECT, "changed my mind"))
    collect_to_end(settings, routes, kafka_bootstrap, lambda seen: any(isinstance(e, JobStatusChanged) and e.job_id == "e-cancelled" for _, e in seen))

    a = storyboard("a-story", PROJECT, scenes=4)
    invalid = ImageRequested("req-b-invalid", "b-invalid", PROJECT, prompt="too wide", width=1001, height=512)
    broken = image("c-broken", PROJECT, prompt="c-broken fail=permanent")
    wrong_type = CancelRequested("req-d-wrong", "d-wrong", PROJECT, "a cancel on the requests topic")
    cancelled = image("e-cancelled", PROJECT)
    f, g = image("f-image", PROJECT), storyboard("g-story", PROJECT, scenes=2)
    garbage = b"\xc3\x01garbage that claims to be single-object"
    plan: list[object] = [a, invalid, broken, garbage, a, wrong_type, f, cancelled, f, g, a]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for item in plan:
        if isinstance(item, bytes):
            producer.produce(routes.requests, key=PROJECT.encode(), value=item)
        elif isinstance(item, CancelRequested):
            producer.produce(routes.requests, key=PROJECT.encode(), value=codec.encode("CancelRequested", to_record(item)))
        else:
            message = encoder.message(routes.requests, PROJECT, item, "")
            producer.produce(routes.requests, key=message.key, value=message.value, headers=list(message.headers))
    producer.flush(30)
    submitted = [item for item in plan if not isinstance(item, bytes)]
    seen = collect_to_end(settings, routes, kafka_bootstrap, lambda s: all_ended(submitted)(s) and sum(isinstance(e, DeadLetter) for _, e in s) >= 4, timeout_s=90)
    running.stop()

    order = [(e.job_id, e.status) for _, e in seen if isinstance(e, JobStatusChanged) and (e.job_id, e.render_version) in terminal_statuses(seen) and e.status in ("completed", "failed", "cancelled") and not (e.error or "").startswith(("cancel ignored", "cancel recorded"))]
    print(f"terminal statuses in the order a subscriber saw them: {order}")
    endings = assert_accounted(seen, submitted, strict_order=True)
    assert endings == {"a-story": "completed", "b-invalid": "failed", "c-broken": "failed", "d-wrong": "failed", "f-image": "completed", "e-cancelled": "cancelled", "g-story": "completed"}
    assert [job for job, _ in order] == ["a-story", "b-invalid", "c-broken", "d-wrong", "f-image", "e-cancelled", "g-story"]
    letters = [e.source_offset for _, e in seen if isinstance(e, DeadLetter)]
    assert letters == [1, 2, 3, 5], letters  # invalid, broken (after its render), garbage, wrong type; duplicates are no letters


def test_an_invalid_request_sent_twice_ends_once(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    """The same invalid requestId twice (a client retrying): one DeadLetter per message is fine (each
    carries its own bytes), but the request has one ending: one failed status and one JobFailed."""
    running = start_agent(ScriptedRenderer(tmp_path / "renders.log"))
    encoder = EventEncoder(EventCodec.from_settings(settings))
    invalid = ImageRequested("req-twice", "twice", PROJECT, prompt="too wide", width=1001, height=512)
    after = image("after", PROJECT)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for item in (invalid, invalid, after):
        message = encoder.message(routes.requests, PROJECT, item, "")
        producer.produce(routes.requests, key=message.key, value=message.value, headers=list(message.headers))
    producer.flush(30)
    seen = collect_to_end(settings, routes, kafka_bootstrap, lambda s: all_ended([invalid, after])(s) and sum(isinstance(e, DeadLetter) for _, e in s) >= 1, timeout_s=60, settle_s=1)
    running.stop()
    assert assert_accounted(seen, [invalid, invalid, after], strict_order=True) == {"twice": "failed", "after": "completed"}
