"""The one job-end rule (media_stream.client.job_end.JobEnd), event by event, in the orders the
outcome topics can deliver them: a BatchCompleted ahead of ImageReady events still on their way is
not the end; the terminal status alone is not the end; a cancel is."""

from __future__ import annotations

import itertools

import pytest

from media_stream.client.job_end import OUTCOME_TYPES, JobEnd, decode_outcome, is_terminal
from media_stream.domain.outcomes import AudioReady, BatchCompleted, ImageReady, ImageSummary, JobFailed, JobStatus, JobStatusChanged
from media_stream.config import Settings
from media_stream.domain.records import to_record
from media_stream.serde.codec import EventCodec

JOB, PROJECT = "job-1", "proj-1"


def ready(scene: str, version: int = 1) -> ImageReady:
    return ImageReady(JOB, PROJECT, "req-1", version, scene_id=scene)


def batch(*scenes: str) -> BatchCompleted:
    return BatchCompleted(JOB, PROJECT, "req-1", 1, total_images=len(scenes), images=tuple(ImageSummary(s, "", "", "") for s in scenes))


def status(value: str) -> JobStatusChanged:
    return JobStatusChanged(JOB, PROJECT, value, "req-1", 1.0)


@pytest.mark.parametrize("order", list(itertools.permutations(range(6))))
def test_a_storyboard_ends_with_its_last_event_in_any_order(order: tuple[int, ...]) -> None:
    events = [ready("a"), ready("b"), ready("c"), ready("d"), batch("a", "b", "c", "d"), status("completed")]
    end = JobEnd(JOB, 1)
    for position, index in enumerate(order):
        assert not end.ended
        end.see(events[index])
        assert end.ended == (position == len(order) - 1), (order, position)
    assert end.outcome == events[4] and end.final_status == "completed" and end.missing == []


def test_batch_completed_first_is_not_the_end_until_every_image_it_lists_arrived() -> None:
    end = JobEnd(JOB)
    for event in (ready("a"), ready("b"), ready("c"), batch("a", "b", "c", "d"), status("completed")):
        end.see(event)
    assert not end.ended and end.missing == ["d"]
    end.see(ready("d"))
    assert end.ended


def test_a_caller_wanting_only_the_end_stops_at_the_terminal_event() -> None:
    end = JobEnd(JOB, wants_assets=False)
    end.see(batch("a", "b"))
    assert not end.ended  # the terminal status is still to come
    end.see(status("completed"))
    assert end.ended and end.missing == ["a", "b"]
    without_status = JobEnd(JOB, wants_assets=False, needs_status=False)
    without_status.see(batch("a"))
    assert without_status.ended


def test_audio_failure_and_cancel() -> None:
    audio = JobEnd(JOB)
    audio.see(status("completed"))
    assert not audio.ended
    audio.see(AudioReady(JOB, PROJECT, "req-1", 1))
    assert audio.ended and isinstance(audio.outcome, AudioReady)

    failed = JobEnd(JOB)
    failed.see(status("failed"))
    assert not failed.ended
    failed.see(JobFailed(JOB, PROJECT, "boom", "RenderError", False))
    assert failed.ended and failed.final_status == "failed"

    cancelled = JobEnd(JOB)
    cancelled.see(ready("a"))
    cancelled.see(status("cancelled"))
    assert cancelled.ended and cancelled.final_status == "cancelled" and isinstance(cancelled.outcome, JobStatusChanged)


def test_other_jobs_and_versions_are_ignored() -> None:
    end = JobEnd(JOB, 2)
    assert not end.see(ready("a", version=1)) and not end.see(ImageReady("job-2", PROJECT, "r", 2, scene_id="a"))
    assert end.see(ready("a", version=2)) and end.delivered == {"a"}
    end.see(status("processing"))
    assert end.status is None  # not terminal


def test_terminal_statuses_are_the_domain_s() -> None:
    assert {s.value for s in JobStatus if is_terminal(s.value)} == {"completed", "failed", "cancelled"}
    assert not is_terminal("queued") and not is_terminal("nonsense")


def test_one_decoder_for_every_outcome_type() -> None:
    codec = EventCodec.from_settings(Settings())
    for event in (ready("a"), batch("a"), status("completed"), AudioReady(JOB, PROJECT, "r", 1), JobFailed(JOB, PROJECT, "x", "E", False)):
        decoded = decode_outcome(codec, codec.encode(type(event).__name__, to_record(event)))
        assert type(decoded) is type(event) and decoded.job_id == JOB  # type: ignore[attr-defined]
    assert decode_outcome(codec, None) is None and decode_outcome(codec, b"not avro") is None
    assert set(OUTCOME_TYPES) == {"ImageReady", "BatchCompleted", "AudioReady", "JobStatusChanged", "JobFailed", "DeadLetter"}
