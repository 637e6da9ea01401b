"""Requests that arrive more than once, and cancels that arrive in the wrong order: a cancel before
its request, a cancel of a job that has ended, the same requestId sent again while it renders and
after it ended. Each request still ends exactly once, and nothing is rendered twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import JobStatusChanged
from media_stream.domain.requests import CancelRequested
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect
from tests.helpers.requests import image, publish, storyboard
from tests.helpers.scripted_renderer import ScriptedRenderer, render_log

pytestmark = pytest.mark.kafka


def _note(job: str, starts: str) -> Callable[[list], bool]:
    return lambda seen: any(isinstance(e, JobStatusChanged) and e.job_id == job and (e.error or "").startswith(starts) for _, e in seen)


def test_duplicates_and_out_of_order_cancels_end_each_request_once(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    log = tmp_path / "renders.log"
    running = start_agent(ScriptedRenderer(log, default_delay_s=0.15))
    # a cancel before its request: remembered, and the request is dropped when it comes
    publish(settings, kafka_bootstrap, routes, CancelRequested("cancel-early", "early", "proj-x", "changed my mind"))
    collect(settings, routes, kafka_bootstrap, _note("early", "cancel recorded"))
    long = storyboard("long", "proj-y", scenes=5)
    submitted = [image("early", "proj-x"), long, long, image("done", "proj-x"), image("done", "proj-x"), long]
    publish(settings, kafka_bootstrap, routes, *submitted)  # the same requestId twice while it is queued or rendering
    collect(settings, routes, kafka_bootstrap, all_ended([image("done", "proj-x")]))
    # a cancel of an ended job, and the same requests again after they ended
    publish(settings, kafka_bootstrap, routes, CancelRequested("cancel-late", "done", "proj-x", "too late"), image("done", "proj-x"), image("after", "proj-x"))
    submitted += [image("done", "proj-x"), image("after", "proj-x")]
    seen = collect(settings, routes, kafka_bootstrap, lambda s: all_ended(submitted)(s) and _note("done", "cancel ignored")(s))
    running.stop()

    endings = assert_accounted(seen, submitted)
    assert endings == {"early": "cancelled", "long": "completed", "done": "completed", "after": "completed"}
    early = [e.error for _, e in seen if isinstance(e, JobStatusChanged) and e.job_id == "early" and e.status == "cancelled"]
    assert early[-1] == "cancelled before it started"
    late = [e for _, e in seen if isinstance(e, JobStatusChanged) and e.job_id == "done" and (e.error or "").startswith("cancel ignored")]
    assert [e.status for e in late] == ["completed"]  # the note repeats the outcome; it does not change it
    renders = Counter((tag, scene) for _, tag, scene in render_log(log))
    assert "early" not in {tag for tag, _ in renders}
    assert set(renders.values()) == {1}  # every scene rendered once, duplicates or not
    assert running.agent.counters["duplicates"] == 4 and running.agent.counters["cancelled"] == 1
