"""`cancel`, `status` and `rerender` are the SDK's calls (MediaStreamClient), not a second
implementation: with the client's methods replaced, the commands print what the SDK answered and
exit as the error exit says. No broker: nothing here may open a Kafka connection."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from media_stream.cli import app
from media_stream.client.sdk import JobFailedError, MediaStreamClient
from media_stream.state.status_view import StatusRow

NO_BROKER = "127.0.0.1:1"  # anything that did reach for Kafka would fail here, not pass


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []

    def cancel(self: MediaStreamClient, job_id: str, project_id: str, reason: str = "") -> str:
        seen.append(("cancel", job_id, project_id, reason, self.bootstrap))
        return "control-topic"

    def lookup_status(self: MediaStreamClient, job_id: str, view_path: Any = None) -> tuple[Any, float]:
        seen.append(("status", job_id))
        if job_id == "job-known":
            return StatusRow(job_id, "proj-1", "req-1", "running", 0.5, None, 1, 0), 0.25
        return None, 0.1

    monkeypatch.setattr(MediaStreamClient, "cancel", cancel)
    monkeypatch.setattr(MediaStreamClient, "lookup_status", lookup_status)
    return seen


def test_cancel_is_the_sdks_cancel(calls: list[tuple[Any, ...]]) -> None:
    shown = CliRunner().invoke(app, ["cancel", "job-1", "--project", "proj-1", "--reason", "wrong style", "--bootstrap", NO_BROKER])
    assert shown.exit_code == 0, shown.output
    assert calls == [("cancel", "job-1", "proj-1", "wrong style", NO_BROKER)]
    assert shown.output.strip() == "cancel for job job-1 published to control-topic"


def test_status_is_the_sdks_status_view(calls: list[tuple[Any, ...]]) -> None:
    known = CliRunner().invoke(app, ["status", "job-known", "--bootstrap", NO_BROKER])
    assert known.exit_code == 0, known.output
    assert "job-known  running  progress 50%  project proj-1" in known.output and "(looked up in 0.25 ms)" in known.output
    unknown = CliRunner().invoke(app, ["status", "job-unknown", "--bootstrap", NO_BROKER])
    assert unknown.exit_code == 1 and "no status for job 'job-unknown'" in unknown.output
    assert calls == [("status", "job-known"), ("status", "job-unknown")]


def test_rerender_failing_job_exits_1_and_bad_input_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    class Handle:
        job_id, render_version, topic = "job-r", 2, "requests"

        def wait(self, timeout: float) -> Any:
            raise JobFailedError("job-r", "out of memory")

    monkeypatch.setattr(MediaStreamClient, "rerender", lambda self, project, asset, version=None: Handle())
    failed = CliRunner().invoke(app, ["rerender", "proj-1/job-a:s0:v1", "--wait", "--bootstrap", NO_BROKER])
    assert failed.exit_code == 1, failed.output
    assert "rerender of job-a:s0:v1: job job-r version 2 published to requests" in failed.output and "error: " in failed.output
    bad = CliRunner().invoke(app, ["rerender", "job-a:s0:v1", "--bootstrap", NO_BROKER])
    assert bad.exit_code == 2 and bad.output.strip() == "error: assetId: give projectId/assetId or --project"
