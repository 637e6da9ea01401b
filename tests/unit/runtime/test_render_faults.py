"""The render thread's deadline and the classification of renderer failures (no broker)."""

from __future__ import annotations

import threading
import time

from media_stream.domain.errors import PermanentError, RetriableError
from media_stream.runtime.render_faults import RenderDeadlineExceeded, RenderOutOfMemory, render_isolating_failures
from media_stream.runtime.render_thread import RenderThread


def _collect_until(renders: RenderThread, count: int, timeout_s: float = 10.0) -> list:
    done: list = []
    deadline = time.monotonic() + timeout_s
    while len(done) < count and time.monotonic() < deadline:
        done += renders.collect(timeout_s=0.05)
    return done


def test_a_batch_past_the_deadline_fails_and_a_fresh_thread_renders_the_waiting_batch() -> None:
    release = threading.Event()
    renders = RenderThread(lambda batch: (release.wait(10) if "hang" in batch else None) or [f"ok {job}" for job in batch], deadline_s=0.3)
    renders.submit(["hang", "other"])
    renders.submit(["next"])
    done = _collect_until(renders, 2)
    assert [batch for batch, _ in done] == [["hang", "other"], ["next"]]
    assert all(isinstance(r, RenderDeadlineExceeded) for r in done[0][1]) and done[1][1] == ["ok next"]
    assert renders.in_flight == 0 and renders.given_up == 1
    release.set()  # the stuck render returns: its result is discarded
    time.sleep(0.1)
    assert renders.collect(0.1) == [] and renders.in_flight == 0
    renders.stop()


def test_no_deadline_means_a_slow_batch_is_waited_for() -> None:
    renders = RenderThread(lambda batch: time.sleep(0.3) or list(batch), deadline_s=None)
    renders.submit(["slow"])
    assert _collect_until(renders, 1) == [(["slow"], ["slow"])]
    renders.stop()


def test_a_failing_batch_is_retried_job_by_job_so_only_the_culprit_fails() -> None:
    calls: list[list[str]] = []

    def render(batch: list[str]) -> list[str]:
        calls.append(list(batch))
        if "bad" in batch:
            raise RuntimeError("bug")
        if "oom" in batch:
            raise MemoryError("no memory")
        return [f"ok {job}" for job in batch]

    results = render_isolating_failures(render, ["a", "bad", "b", "oom"])
    assert results[0] == "ok a" and results[2] == "ok b"
    assert isinstance(results[1], RuntimeError) and isinstance(results[3], RenderOutOfMemory)
    assert isinstance(results[3], PermanentError) and "no memory" in str(results[3])
    assert calls[0] == ["a", "bad", "b", "oom"] and calls[1:] == [["a"], ["bad"], ["b"], ["oom"]]


def test_torch_out_of_memory_is_classified_by_name() -> None:
    class OutOfMemoryError(RuntimeError):  # torch.OutOfMemoryError's name, without importing torch
        pass

    def render(batch: list[str]) -> list[str]:
        raise OutOfMemoryError("CUDA out of memory")

    [result] = render_isolating_failures(render, ["one"])
    assert isinstance(result, RenderOutOfMemory) and "CUDA out of memory" in str(result)


def test_a_given_up_batch_is_told_to_stop_and_its_retry_is_not() -> None:
    """The deadline stops the stuck render through its cancel hook, and only that one: the same
    job rendered again on the fresh thread is not told to stop (on the old code ``gave_up(job)``
    stayed true for the job, so every later step of it was cancelled)."""
    stopped = threading.Event()
    renders: RenderThread
    attempts: list[bool] = []

    def render(batch: list[str]) -> list[str]:
        if not attempts:
            attempts.append(True)
            while not renders.abandoned():  # a renderer polling its is_cancelled hook between steps
                time.sleep(0.02)
            stopped.set()
            return ["late"]
        attempts.append(renders.abandoned())
        return ["again"]

    renders = RenderThread(render, deadline_s=0.2)
    renders.submit(["job"])
    done = _collect_until(renders, 1)
    assert isinstance(done[0][1][0], RenderDeadlineExceeded)
    assert isinstance(done[0][1][0], RetriableError)  # retried under the retry policy, not the job's end
    assert stopped.wait(2) and not renders.abandoned()  # asked from another thread: never abandoned
    assert renders.collect(0.1) == []  # what the stopped render returned is discarded
    renders.submit(["job"])  # the agent's retry of the same step
    assert _collect_until(renders, 1) == [(["job"], ["again"])] and attempts == [True, False]
    renders.stop()


def test_stop_waits_at_most_its_timeout_and_discards_a_late_result() -> None:
    release = threading.Event()
    renders = RenderThread(lambda batch: release.wait(10) and ["late"], deadline_s=None)
    renders.submit(["slow"])
    time.sleep(0.05)
    started = time.monotonic()
    assert renders.stop(0.2) is False and time.monotonic() - started < 2
    release.set()
    time.sleep(0.1)
    assert renders.collect(0.1) == []
