"""Exactly-once in the runtime, against the real broker: the restore waits out a transaction the
previous owner left open, a render past its deadline is retried (not the rest of the storyboard
cancelled), an old cancel leaves a later replay alone, each poll takes no more than the room in
the in-flight window, and SIGTERM leaves the group within ``shutdown_timeout_s`` while a scene
still renders (the next owner renders it; no scene is published twice)."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from media_stream.config import Settings
from media_stream.domain.errors import RenderCancelled
from media_stream.domain.outcomes import BatchCompleted, ImageReady, JobStatusChanged
from media_stream.domain.requests import CancelRequested
from media_stream.domain.scenes import SceneWork
from media_stream.render.image.base import RenderedImage
from media_stream.render.image.preview import PreviewRenderer
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, collect_to_end
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.routes import COMPACT

pytestmark = pytest.mark.kafka


class HoldingRenderer:
    """The preview renderer's images; the first ``hold_first`` calls hold until ``release`` (or
    ``hold_s``), checking the cancel hook between "denoising steps" as SDXL does."""

    name = "holding"

    def __init__(self, hold_first: int = 0, hold_s: float = 30.0) -> None:
        self.inner = PreviewRenderer()
        self.hold_first = hold_first
        self.hold_s = hold_s
        self.release = threading.Event()
        self.calls: list[list[str]] = []
        self.started = threading.Event()

    def load(self) -> None:
        self.inner.load()

    def render(self, batch: Sequence[SceneWork], hooks: Any = None) -> list[RenderedImage]:
        self.calls.append([w.scene_id for w in batch])
        self.started.set()
        if len(self.calls) <= self.hold_first:
            deadline = time.monotonic() + self.hold_s
            while time.monotonic() < deadline and not self.release.is_set():
                if hooks is not None and hooks.is_cancelled is not None and hooks.is_cancelled():
                    raise RenderCancelled("stopped between denoising steps")
                time.sleep(0.02)
        if hooks is not None and hooks.is_cancelled is not None and hooks.is_cancelled():
            raise RenderCancelled("cancelled before the first denoising step")
        return self.inner.render(batch)


def test_a_restore_waits_for_the_transaction_the_previous_owner_left_open(settings: Settings, unique_topic: Callable[..., str], kafka_bootstrap: str) -> None:
    from media_stream.kafka.partition_reader import end_offsets, read_to_end  # here: main has no end_offsets

    topic = unique_topic("changelog", partitions=1, config=COMPACT)
    tp = (topic, 0)
    owner = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"previous-owner-{uuid.uuid4().hex[:8]}"})
    owner.init_transactions(30)
    owner.begin_transaction()
    owner.produce(topic, key=b"dedupe-row", value=b"handled", partition=0)
    owner.flush(10)  # written, not committed: the last stable offset stays before it
    ends = end_offsets(settings, kafka_bootstrap, [tp])
    assert read_to_end(settings, kafka_bootstrap, [tp], timeout_s=10)[tp] == []  # what the old restore took as the whole state
    threading.Timer(2.0, lambda: owner.commit_transaction(30)).start()
    started = time.monotonic()
    rows = read_to_end(settings, kafka_bootstrap, [tp], timeout_s=30, until={tp: ends[tp][1]})[tp]
    assert [m.key for m in rows] == [b"dedupe-row"] and time.monotonic() - started >= 1.5


def test_a_render_past_its_deadline_is_retried_and_the_storyboard_completes(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:
    settings.worker.render_deadline_s = 1.0
    renderer = HoldingRenderer(hold_first=1, hold_s=5.0)
    running = start_agent(renderer)
    story = storyboard("stalled", "proj-deadline", scenes=3)
    publish(settings, kafka_bootstrap, routes, story)
    seen = collect(settings, routes, kafka_bootstrap, all_ended([story]), timeout_s=60)
    running.stop()
    assert assert_accounted(seen, [story]) == {"stalled": "completed"}  # on main: "cancelled", though nobody cancelled it
    batch = next(e for _, e in seen if isinstance(e, BatchCompleted))
    assert [i.scene_id for i in batch.images] == ["s0", "s1", "s2"] and batch.failures == ()
    assert running.agent.renders.given_up == 1 and renderer.calls[:2] == [["s0"], ["s0"]]


def test_an_old_cancel_does_not_cancel_a_later_replay_of_the_job(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:
    running = start_agent()
    publish(settings, kafka_bootstrap, routes, CancelRequested("cancel-old", "replayed", "proj-replay", "not this one"))
    collect(settings, routes, kafka_bootstrap, lambda seen: any(isinstance(e, JobStatusChanged) and e.job_id == "replayed" for _, e in seen))
    time.sleep(0.05)  # the replay is published after the cancel
    replay = dataclasses.replace(image("replayed", "proj-replay"), request_id="req-replayed-v2", render_version=2)
    publish(settings, kafka_bootstrap, routes, replay)
    seen = collect(settings, routes, kafka_bootstrap, all_ended([replay]), timeout_s=60)
    running.stop()
    assert assert_accounted(seen, [replay]) == {"replayed@v2": "completed"}  # on main: "cancelled before it started"


def test_each_poll_takes_no_more_than_the_room_left_in_the_window(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:
    settings.worker.in_flight_window = 4
    running = start_agent()
    agent = running.agent
    in_flight: list[int] = []
    accept = agent._accept

    def counting_accept(message: Any) -> None:
        accept(message)
        in_flight.append(len(agent.scheduler))

    agent._accept = counting_accept  # type: ignore[method-assign]
    requests = [image(f"window-{i}", f"proj-w{i % 2}") for i in range(24)]  # two projects: a queue of 12 each
    publish(settings, kafka_bootstrap, routes, *requests)
    seen = collect(settings, routes, kafka_bootstrap, all_ended(requests), timeout_s=90)
    running.stop()
    assert set(assert_accounted(seen, requests).values()) == {"completed"}
    assert max(in_flight) <= 4, max(in_flight)  # on main: one poll took all 24 past a window of 4
    assert agent.counters["pauses"] <= len(requests) // 2  # paused at 4, resumed at 2: not at every turn


def test_sigterm_leaves_the_group_within_the_shutdown_timeout_while_a_scene_renders(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:
    settings.worker.shutdown_timeout_s = 3.0
    settings.worker.render_deadline_s = None
    stuck = HoldingRenderer(hold_first=1, hold_s=60.0)
    first = start_agent(stuck)
    story = storyboard("handover", "proj-term", scenes=2)
    publish(settings, kafka_bootstrap, routes, story)
    assert stuck.started.wait(60)
    asked = time.monotonic()
    first.agent.stopping.set()
    first.thread.join(30)
    left_after = time.monotonic() - asked
    stuck.release.set()
    print(f"left the group {left_after:.1f}s after SIGTERM (shutdown_timeout_s={settings.worker.shutdown_timeout_s:g}) with a scene still rendering")
    assert not first.thread.is_alive() and left_after < settings.worker.shutdown_timeout_s + 3.0, left_after  # on main: waits for the render
    second = start_agent(PreviewRenderer())
    seen = collect_to_end(settings, routes, kafka_bootstrap, all_ended([story]), timeout_s=90, settle_s=1.0)
    second.stop()
    assert assert_accounted(seen, [story]) == {"handover": "completed"}
    assert Counter(e.scene_id for _, e in seen if isinstance(e, ImageReady)) == {"s0": 1, "s1": 1}
