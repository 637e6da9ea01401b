"""A renderer that raises, hangs past the render deadline, or runs out of memory: the step fails
with a reason that says which, the projects that shared its batch go on, later requests of the
same project complete, and the agent never dies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, JobFailed
from media_stream.domain.requests import ImageRequested, Scene, StoryboardRequested, StyleConfig
from media_stream.runtime.routes import AgentRoutes
from tests.faults.faulty_renderer import FaultyRenderer
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect
from tests.helpers.requests import publish

pytestmark = pytest.mark.kafka


def _image(job: str, project: str, prompt: str = "", size: int = 64) -> ImageRequested:
    return ImageRequested(f"req-{job}", job, project, prompt=f"{job} {prompt}".strip(), width=size, height=size, seed=1)


def test_a_raising_hanging_or_out_of_memory_renderer_fails_only_its_step(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    import torch  # noqa: F401 - imported before the clock runs: an import is no render

    settings.worker.render_deadline_s = 3.0
    renderer = FaultyRenderer(tmp_path / "renders.log")
    running = start_agent(renderer)
    story = StoryboardRequested(
        "req-story", "story", "proj-c",
        scenes=(Scene("s0", "story-s0"), Scene("s1", "story-s1 oom=host"), Scene("s2", "story-s2")),
        style_config=StyleConfig(width=64, height=64, steps=5, seed=1),
    )
    submitted = [
        _image("a1", "proj-a"), _image("hung", "proj-a", "hang", size=72), _image("a3", "proj-a"),
        _image("bug", "proj-b", "raise=bug"), _image("b2", "proj-b"),
        story,
        _image("cuda", "proj-d", "oom=cuda"), _image("d2", "proj-d"),
        *(_image(f"bystander-{i}", f"proj-e{i}") for i in range(4)),
    ]
    try:
        publish(settings, kafka_bootstrap, routes, *submitted)
        seen = collect(settings, routes, kafka_bootstrap, all_ended(submitted), timeout_s=60)
    finally:
        renderer.release.set()
    running.stop()

    endings = assert_accounted(seen, submitted)
    assert endings == {
        "a1": "completed", "hung": "failed", "a3": "completed", "bug": "failed", "b2": "completed",
        "story": "completed", "cuda": "failed", "d2": "completed", **{f"bystander-{i}": "completed" for i in range(4)},
    }
    reasons = {e.job_id: e.reason for _, e in seen if isinstance(e, JobFailed)}
    assert "RenderDeadlineExceeded" in reasons["hung"] and "render_deadline_s=3" in reasons["hung"]
    assert "RuntimeError: renderer bug" in reasons["bug"]
    assert "RenderOutOfMemory" in reasons["cuda"] and "CUDA out of memory" in reasons["cuda"]
    story_done = next(e for _, e in seen if isinstance(e, BatchCompleted) and e.job_id == "story")
    assert [i.scene_id for i in story_done.images] == ["s0", "s2"]
    assert [(f.scene_id, "RenderOutOfMemory" in f.reason) for f in story_done.failures] == [("s1", True)]
    assert renderer.hung == 3 and running.agent.renders.given_up == 3  # a deadline is retried under the retry policy (3 attempts)
    assert max(renderer.batch_sizes) > 1  # faulty scenes did share batches with others
