"""The client SDK against the real broker and a real agent: publish, follow, wait, fail, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.client.sdk import AsyncMediaStreamClient, JobCancelledError, JobFailedError, MediaStreamClient
from media_stream.config import Settings
from media_stream.domain.errors import ValidationError
from media_stream.domain.outcomes import BatchCompleted, ImageReady, JobFailed, JobStatusChanged
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import RunningAgent
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka


def test_a_storyboard_is_followed_to_its_batch_and_an_image_waited_for(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    running = start_agent()
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        job = client.generate_storyboard("proj-sdk", ["a fox in the snow", "the fox asleep", "dawn"], width=64, height=64, steps=5, seed=1)
        assert job.job_id.startswith("job-") and job.project_id == "proj-sdk" and job.topic == routes.requests
        events = list(job.events(timeout_s=60))
        ready = [e for e in events if isinstance(e, ImageReady)]
        assert [e.scene_id for e in ready] == ["s0", "s1", "s2"] and all(e.job_id == job.job_id for e in ready)
        assert any(isinstance(e, JobStatusChanged) and e.status == "completed" for e in events)
        assert isinstance(job.outcome, BatchCompleted) and job.outcome.total_images == 3

        image = client.generate_image("proj-sdk", "one lighthouse", width=64, height=64, steps=5, job_id="lighthouse")
        outcome = image.wait(timeout_s=60)
        assert isinstance(outcome, BatchCompleted) and outcome.job_id == "lighthouse"
        row = client.status("lighthouse", view_path=tmp_path / "view.sqlite")
        assert row is not None and row.status == "completed" and row.project_id == "proj-sdk"
        with pytest.raises(ValidationError, match="width"):
            client.generate_image("proj-sdk", "too wide", width=7)

    async def from_asyncio() -> object:
        async with AsyncMediaStreamClient(settings, kafka_bootstrap, topics=routes) as aclient:
            handle = await aclient.generate_image("proj-sdk", "async harbour", width=64, height=64, steps=5)
            return await aclient.wait(handle, timeout_s=60)

    assert isinstance(asyncio.run(from_asyncio()), BatchCompleted)
    running.stop()


def test_wait_raises_for_a_failed_job_and_for_a_cancelled_one(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    running = start_agent(ScriptedRenderer(tmp_path / "renders.log", default_delay_s=0.3))
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        broken = client.generate_image("proj-sdk-f", "fail=permanent", width=64, height=64)
        with pytest.raises(JobFailedError) as failed:
            broken.wait(timeout_s=60)
        assert isinstance(failed.value.event, JobFailed) and failed.value.job_id == broken.job_id

        long = client.generate_storyboard("proj-sdk-c", [f"scene {i}" for i in range(10)], width=64, height=64)
        seen = []
        for event in long.events(timeout_s=60):
            seen.append(event)
            if sum(isinstance(e, ImageReady) for e in seen) == 1:
                client.cancel(long.job_id, long.project_id, reason="changed my mind")
        assert isinstance(long.outcome, JobStatusChanged) and long.outcome.status == "cancelled"
        assert sum(isinstance(e, ImageReady) for e in seen) < 10
        with pytest.raises(JobCancelledError):
            long.wait(timeout_s=60)
    running.stop()


def test_subscribe_filters_by_project(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:
    running = start_agent()
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        a = client.generate_image("proj-a", "first", width=64, height=64, steps=5)
        b = client.generate_image("proj-b", "second", width=64, height=64, steps=5)
        a.wait(60)
        b.wait(60)
        seen = []
        for topic, event in client.subscribe(["image_ready", "batch_completed"], project="proj-b", from_beginning=True, timeout_s=3):
            seen.append((topic, event))
    running.stop()
    assert {type(e).__name__ for _, e in seen} == {"ImageReady", "BatchCompleted"}
    assert all(e.project_id == "proj-b" for _, e in seen)
