"""The client commands through typer's CliRunner against the real broker and a real agent:
publish (flags and --file), watch, cancel, replay --dry-run, reset-group, and exit code 2 naming the field."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from media_stream.cli import app
from media_stream.config import PROJECT_ROOT, Settings, get_settings
from media_stream.kafka.topic_scan import scan
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.codec import EventCodec
from tests.helpers.agents import RunningAgent
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka


@pytest.fixture
def cli_topics(routes: AgentRoutes, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unique_topic: Callable[..., str]) -> Iterator[AgentRoutes]:
    """topics.yaml rewritten so every role the CLI uses names the test's fresh topics."""
    by_role = {"image_requests": routes.requests, "control": routes.control, "image_ready": routes.image_ready, "batch_completed": routes.batch_completed,
               "job_failed": routes.job_failed, "job_status": routes.job_status,
               "audio_ready": unique_topic("audio-ready")}
    raw = yaml.safe_load((PROJECT_ROOT / "topics.yaml").read_text())
    for topic in raw["topics"]:
        if topic["role"] in by_role:
            topic["name"] = by_role[topic["role"]]
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_FILE", str(tmp_path / "topics.yaml"))
    monkeypatch.setenv("MEDIA_STREAM_STORAGE__ROOT", str(settings.storage.root))
    get_settings.cache_clear()
    yield routes
    get_settings.cache_clear()


def test_publish_watch_cancel_replay_and_bad_input(cli_topics: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    routes = cli_topics
    runner = CliRunner()
    bad = runner.invoke(app, ["publish", "image", "--project", "proj-cli", "--prompt", "x", "--width", "7", "--bootstrap", kafka_bootstrap])
    assert bad.exit_code == 2 and "width" in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output
    bad_id = runner.invoke(app, ["publish", "image", "--project", "../up", "--prompt", "x", "--bootstrap", kafka_bootstrap])
    assert bad_id.exit_code == 2 and "projectId" in bad_id.output
    no_file = runner.invoke(app, ["publish", "storyboard", "--file", str(tmp_path / "missing.yaml")])
    assert no_file.exit_code == 2 and "file" in no_file.output
    bad_time = runner.invoke(app, ["reset-group", "g", "--to", "yesterday"])
    assert bad_time.exit_code == 2 and "to:" in bad_time.output

    running = start_agent(ScriptedRenderer(tmp_path / "renders.log"))  # `fail=permanent` in a prompt fails the job
    made = runner.invoke(app, ["publish", "storyboard", "--project", "proj-cli", "--scene", "a fox", "--scene", "a hare", "--width", "64", "--height", "64", "--steps", "5", "--job", "cli-story", "--wait", "--timeout", "60", "--bootstrap", kafka_bootstrap])
    assert made.exit_code == 0 and made.output.splitlines()[0] == "cli-story" and "BatchCompleted" in made.output, made.output
    request = tmp_path / "image.json"
    request.write_text(json.dumps({"projectId": "proj-cli", "prompt": "from a file", "width": 64, "height": 64, "steps": 5}))
    from_file = runner.invoke(app, ["publish", "image", "--file", str(request), "--bootstrap", kafka_bootstrap])
    assert from_file.exit_code == 0 and from_file.output.strip().startswith("job-"), from_file.output
    file_job = from_file.output.strip()
    broken = runner.invoke(app, ["publish", "image", "--project", "proj-cli", "--prompt", "fail=permanent", "--width", "64", "--height", "64", "--wait", "--timeout", "60", "--bootstrap", kafka_bootstrap])
    assert broken.exit_code == 1 and "failed" in broken.output, broken.output

    watched = runner.invoke(app, ["watch", "--job", "cli-story", "--from-beginning", "--timeout", "30", "--bootstrap", kafka_bootstrap])
    assert watched.exit_code == 0, watched.output
    assert "cli-story s0" in watched.output and "cli-story s1" in watched.output and "done   cli-story: 2 image(s)" in watched.output
    followed = runner.invoke(app, ["watch", "--job", file_job, "--project", "proj-cli", "--from-beginning", "--timeout", "30", "--bootstrap", kafka_bootstrap])
    assert followed.exit_code == 0 and f"ready  {file_job}" in followed.output, followed.output

    cancelled = runner.invoke(app, ["cancel", "cli-story", "--project", "proj-cli", "--reason", "enough", "--bootstrap", kafka_bootstrap])
    assert cancelled.exit_code == 0, cancelled.output
    codec = EventCodec.from_settings(get_settings())
    controls = [codec.decode(m.value).value for m in scan(get_settings(), kafka_bootstrap, routes.control)]
    assert [(c["jobId"], c["projectId"], c["reason"]) for c in controls] == [("cli-story", "proj-cli", "enough")]

    dry = runner.invoke(app, ["replay", "--topic", routes.requests, "--project", "proj-cli", "--job", "cli-story", "--render-version", "2", "--dry-run", "--bootstrap", kafka_bootstrap])
    assert dry.exit_code == 0 and "would replay 1 request(s)" in dry.output and "project proj-cli: 1" in dry.output, dry.output
    bad_range = runner.invoke(app, ["replay", "--topic", routes.requests, "--from-offset", "9", "--to-offset", "1", "--render-version", "2", "--bootstrap", kafka_bootstrap])
    assert bad_range.exit_code == 2 and "fromOffset" in bad_range.output

    refused = runner.invoke(app, ["reset-group", f"agents-{routes.requests}", "--to", "2020-01-01T00:00:00Z", "--bootstrap", kafka_bootstrap])
    assert refused.exit_code == 2 and "active member" in refused.output, refused.output
    running.stop()
