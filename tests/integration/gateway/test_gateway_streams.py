"""Against a real preview agent: SSE follows a storyboard to BatchCompleted, status comes from the
view, cancel publishes on the control topic, /models shows what the agent announced."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from media_stream.cli import app
from media_stream.config import PROJECT_ROOT, get_settings
from media_stream.domain.requests import CancelRequested
from media_stream.runtime.announcer import AgentAnnouncer
from tests.helpers.agents import RunningAgent
from tests.helpers.sse import sse_events
from tests.integration.gateway.conftest import SERVICE, USER, Gateway, ServedGateway, bearer

pytestmark = pytest.mark.kafka


def test_sse_streams_a_storyboard_until_batch_completed_and_status_reads_the_view(served_gateway: ServedGateway, start_agent: Callable[..., RunningAgent]) -> None:
    gateway = served_gateway.gateway
    running = start_agent()
    with httpx.Client(base_url=served_gateway.url, timeout=60) as http:
        with http.stream("GET", "/api/v1/jobs/job-sse-1/events", headers=bearer(USER)) as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            events = sse_events(stream.iter_lines())
            assert next(events) == ("comment", None)  # the stream is open before the job exists
            posted = http.post(
                "/api/v1/images/batch-generate",
                json={"projectId": "proj-sse", "jobId": "job-sse-1", "scenes": [{"sceneId": f"s{i}", "prompt": f"scene {i}"} for i in range(3)], "styleConfig": {"width": 64, "height": 64, "steps": 5}},
                headers=bearer(USER),
            )
            assert posted.status_code == 202, posted.text
            seen = [(name, data) for name, data in events if name != "comment"]
        names = [name for name, _ in seen]
        assert names[-1] == "end" and seen[-1][1] == {"jobId": "job-sse-1", "status": "completed"}
        ready = [data for name, data in seen if name == "ImageReady"]
        assert [r["sceneId"] for r in ready] == ["s0", "s1", "s2"] and all(r["jobId"] == "job-sse-1" for r in ready)
        (batch,) = [data for name, data in seen if name == "BatchCompleted"]
        assert batch["totalImages"] == 3 and [i["sceneId"] for i in batch["images"]] == ["s0", "s1", "s2"]
        assert any(name == "JobStatusChanged" and data["status"] == "completed" for name, data in seen)

        status = http.get("/api/v1/images/status/job-sse-1", headers=bearer(USER))
        assert status.status_code == 200
        assert status.json()["updatedAt"].endswith("Z")
        assert status.json() | {"updatedAtMs": 0, "updatedAt": ""} == {"jobId": "job-sse-1", "projectId": "proj-sse", "requestId": posted.json()["requestId"], "status": "completed", "progress": 1.0, "error": None, "renderVersion": 1, "updatedAtMs": 0, "updatedAt": ""}

        # The events of a finished job are still there for a later reader (this replica knows when it was published).
        replay = http.get("/api/v1/jobs/job-sse-1/events", headers=bearer(USER))
        replayed = [n for n, _ in sse_events(iter(replay.text.splitlines())) if n != "comment"]
        assert replayed[-1] == "end" and replayed.count("ImageReady") == 3 and replayed.count("BatchCompleted") == 1

        cancel = http.post("/api/v1/images/cancel/job-sse-1", json={"reason": "too late"}, headers=bearer(SERVICE))
        assert cancel.status_code == 202 and cancel.json()["projectId"] == "proj-sse"  # found in the status view
    (event,) = gateway.events_on(gateway.routes.control)
    assert isinstance(event, CancelRequested) and (event.job_id, event.project_id, event.reason) == ("job-sse-1", "proj-sse", "too late")
    running.stop()


def test_sse_ends_with_timeout_when_nothing_comes(gateway: Gateway) -> None:
    gateway.settings.gateway.sse_idle_timeout_s = 0.5
    answer = gateway.http.get("/api/v1/jobs/job-never/events", headers=bearer(USER))
    names = [n for n, _ in sse_events(iter(answer.text.splitlines())) if n != "comment"]
    assert answer.status_code == 200 and names == ["timeout"]


def models_command(gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """`media-stream models --json` with topics.yaml's agents topic renamed to this test's."""
    topics_file = tmp_path / "topics.yaml"
    topics_file.write_text((PROJECT_ROOT / "topics.yaml").read_text().replace("name: media.agents.v1", f"name: {gateway.topics['agents']}"))
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_FILE", str(topics_file))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["models", "--json", "--bootstrap", gateway.bootstrap])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_models_lists_what_agents_announced_until_they_withdraw(gateway: Gateway, start_agent: Callable[..., RunningAgent], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert gateway.http.get("/api/v1/models/", headers=bearer(SERVICE)).json() == {"agents": []}
    running = start_agent()
    announcer = AgentAnnouncer(gateway.settings, gateway.bootstrap, "image", running.agent.medium, agent="image-test-agent", topic=gateway.topics["agents"])
    announcer.announce_when(lambda: running.agent.health.model_loaded, running.agent.stopping).join(30)
    deadline = time.monotonic() + 10
    while not (answer := gateway.http.get("/api/v1/models/", headers=bearer(SERVICE)).json())["agents"]:
        assert time.monotonic() < deadline, "the announcement did not arrive"
    (agent,) = answer["agents"]
    assert agent["agentId"] == "image-test-agent" and agent["medium"] == "image" and agent["announcedAtMs"] > 0
    assert agent["backends"] == [{"role": "image", "backend": "preview", "model": "preview", "device": "cpu", "dtype": "n/a", "memoryBytes": None}]
    assert models_command(gateway, tmp_path, monkeypatch) == answer  # `media-stream models --json`: the same data
    announcer.close()  # a tombstone
    assert gateway.http.get("/api/v1/models/", headers=bearer(SERVICE)).json() == {"agents": []}
    running.stop()
