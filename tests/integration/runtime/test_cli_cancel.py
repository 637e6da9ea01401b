"""`media-stream cancel` publishes a CancelRequested the agents understand; a bad id is exit code 2."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from media_stream.config import PROJECT_ROOT, get_settings
from media_stream.kafka.topic_scan import scan
from media_stream.serde.codec import EventCodec

pytestmark = pytest.mark.kafka


def test_cancel_command_publishes_to_the_control_topic_and_refuses_bad_ids(kafka_bootstrap: str, unique_topic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from media_stream.cli import app

    control = unique_topic("control", partitions=2)
    raw = yaml.safe_load((PROJECT_ROOT / "topics.yaml").read_text())
    for topic in raw["topics"]:
        if topic["role"] == "control":
            topic["name"] = control
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("MEDIA_STREAM_TOPICS_FILE", str(tmp_path / "topics.yaml"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        job = f"job-{uuid.uuid4().hex[:6]}"
        ok = runner.invoke(app, ["cancel", job, "--project", "proj-cli", "--reason", "wrong style", "--bootstrap", kafka_bootstrap])
        assert ok.exit_code == 0, ok.output
        bad = runner.invoke(app, ["cancel", "../etc", "--project", "proj-cli", "--bootstrap", kafka_bootstrap])
        assert bad.exit_code == 2 and "jobId" in bad.output
        codec = EventCodec.from_settings(get_settings())
        events = [codec.decode(m.value) for m in scan(get_settings(), kafka_bootstrap, control)]
        assert [(e.record_name, e.value["jobId"], e.value["projectId"], e.value["reason"]) for e in events] == [("CancelRequested", job, "proj-cli", "wrong style")]
    finally:
        get_settings.cache_clear()
