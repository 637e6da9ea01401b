"""The accounting invariant catches what it promises to catch (no broker: hand-made outcomes)."""

from __future__ import annotations

import pytest

from media_stream.domain.outcomes import BatchCompleted, DeadLetter, ImageReady, ImageSummary, JobFailed, JobStatusChanged
from tests.faults.invariants import assert_accounted
from tests.helpers.requests import image, storyboard


def _completed(job: str, project: str, scenes: int = 1) -> list[tuple[str, object]]:
    ready = [("ready", ImageReady(job, project, f"req-{job}", 1, scene_id=f"s{i}", scene_index=i)) for i in range(scenes)]
    images = tuple(ImageSummary(f"s{i}", "u", "k", "h") for i in range(scenes))
    return ready + [("batch", BatchCompleted(job, project, f"req-{job}", 1, scenes, images)), ("status", JobStatusChanged(job, project, "completed"))]


def test_a_clean_run_passes_and_says_how_each_request_ended() -> None:
    seen = _completed("a", "p") + _completed("b", "p", scenes=2) + [("failed", JobFailed("c", "q", "boom", "X", False)), ("status", JobStatusChanged("c", "q", "failed"))]
    submitted = [image("a", "p"), storyboard("b", "p", scenes=2), image("c", "q")]
    assert assert_accounted(seen, submitted) == {"a": "completed", "b": "completed", "c": "failed"}


@pytest.mark.parametrize(
    ("seen", "problem"),
    [
        (_completed("a", "p") + [_completed("a", "p")[0]], "more than once"),  # a duplicate ImageReady
        (_completed("a", "p") + [("status", JobStatusChanged("a", "p", "failed"))], "exactly one terminal status"),
        (_completed("a", "p")[1:], "differ from its BatchCompleted"),  # an image never announced
        ([("status", JobStatusChanged("a", "p", "completed"))], "0 BatchCompleted"),
        ([], "exactly one terminal status"),  # lost
        (_completed("b", "p") + _completed("a", "p"), "out of publish order"),
    ],
)
def test_each_violation_is_caught(seen: list, problem: str) -> None:
    submitted = [image("a", "p")] + ([image("b", "p")] if any(getattr(e, "job_id", "") == "b" for _, e in seen) else [])
    with pytest.raises(AssertionError, match=problem):
        assert_accounted(seen, submitted)


def test_notes_of_a_cancel_are_not_a_second_ending() -> None:
    note = ("status", JobStatusChanged("a", "p", "completed", error="cancel ignored: the job already ended completed"))
    assert assert_accounted(_completed("a", "p") + [note], [image("a", "p")]) == {"a": "completed"}


def _failed(job: str, project: str) -> list[tuple[str, object]]:
    return [("failed", JobFailed(job, project, "bad", "ValidationError", False)), ("status", JobStatusChanged(job, project, "failed"))]


def _letter(offset: int) -> tuple[str, object]:
    return ("dlq", DeadLetter("requests", 0, offset, "UndecodableMessage", "junk", b"p", b"\x00"))


def test_strict_order_catches_a_dead_letter_that_ends_ahead_of_an_earlier_request() -> None:
    submitted = [image("a", "p"), image("b", "p")]
    in_order = _completed("a", "p") + _failed("b", "p")
    assert assert_accounted(in_order, submitted, strict_order=True) == {"a": "completed", "b": "failed"}
    ahead = _failed("b", "p") + _completed("a", "p")
    assert_accounted(ahead, submitted)  # the BatchCompleted-only order does not see it
    with pytest.raises(AssertionError, match="terminal statuses out of request order"):
        assert_accounted(ahead, submitted, strict_order=True)
    with pytest.raises(AssertionError, match="DeadLetters out of source offset order"):
        assert_accounted(in_order + [_letter(3), _letter(1)], submitted, strict_order=True)
