"""Replay for reprocessing against the real broker: a storyboard replayed with render version 2
renders again with lineage, old and new files side by side, and replaying v2 again renders nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.client.replay import replay
from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from media_stream.kafka.topic_scan import scan
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.scripted_renderer import ScriptedRenderer, render_log

pytestmark = pytest.mark.kafka


def test_a_replay_with_a_new_version_renders_again_beside_the_old_files_once(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    log = tmp_path / "renders.log"
    running = start_agent(ScriptedRenderer(log))
    publish(settings, kafka_bootstrap, routes, storyboard("day", "proj-rp", scenes=3), image("other", "proj-x"))
    collect(settings, routes, kafka_bootstrap, ended({"day", "other"}))

    dry = replay(settings, routes.requests, 2, kafka_bootstrap, project="proj-rp", dry_run=True)
    assert (dry.selected, dict(dry.per_project), dry.published) == (1, {"proj-rp": 1}, 0)
    report = replay(settings, routes.requests, 2, kafka_bootstrap, project="proj-rp")
    assert report.published == 1
    seen = collect(settings, routes, kafka_bootstrap, lambda s: sum(isinstance(e, BatchCompleted) and e.job_id == "day" for _, e in s) == 2 and sum(isinstance(e, ImageReady) and e.render_version == 2 for _, e in s) == 3)
    again = replay(settings, routes.requests, 2, kafka_bootstrap, job="day")  # the same version again:
    assert again.published == 2  # the original and its first replay, both now v2
    publish(settings, kafka_bootstrap, routes, image("after", "proj-rp"))
    collect(settings, routes, kafka_bootstrap, ended({"after"}))
    running.stop()

    assert sorted(e.render_version for _, e in seen if isinstance(e, BatchCompleted) and e.job_id == "day") == [1, 2]
    assert [tag for _, tag, _ in render_log(log)].count("day-s0") == 2  # v1 and v2, not a third time
    for scene in ("s0", "s1", "s2"):
        folder = settings.storage.root / "images" / "proj-rp" / "day" / scene
        assert sorted(p.name for p in folder.glob("*.png")) == ["1.png", "2.png"]
    replayed = [m for m in scan(settings, kafka_bootstrap, routes.requests) if m.header("replay-of")]
    assert len(replayed) == 3 and all(m.header("replay-of").decode().startswith(f"{routes.requests}/") for m in replayed)
    assert running.agent.counters["duplicates"] == 2  # both v2 copies were recognised, none rendered
