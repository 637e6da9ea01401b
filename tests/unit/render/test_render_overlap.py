"""A busy GPU: PNG encoding (and scoring, and storing) run on a worker beside the render thread,
so the next batch renders while the last one is encoded. With a slow encoder stub, the second
batch's pipeline call starts before the first batch's encoding ends."""

from __future__ import annotations

import threading
import time

from media_stream.domain.requests import Scene, StoryboardRequested, StyleConfig
from media_stream.domain.scenes import plan_scenes
from media_stream.kafka.messages import ConsumedMessage
from media_stream.runtime.render_thread import Deferred, RenderThread
from media_stream.runtime.scheduler import Job

SLOW_S = 1.0  # each encode: long against a tiny render, so an overlap cannot be a coincidence


class Timeline:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[tuple[str, float, float]] = []

    def timed(self, name, fn, *args, **kwargs):
        started = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            with self.lock:
                self.spans.append((name, started, time.monotonic()))

    def of(self, name):
        return sorted((s, e) for n, s, e in self.spans if n == name)


def collect_all(thread: RenderThread, count: int, timeout_s: float = 300.0):
    done, deadline = [], time.monotonic() + timeout_s
    while len(done) < count and time.monotonic() < deadline:
        done += thread.collect(timeout_s=0.5)
    return done


def test_the_render_thread_takes_the_next_batch_while_the_last_is_finishing():
    timeline = Timeline()

    def render(batch):
        timeline.timed("render", time.sleep, 0.05)
        return [Deferred(lambda item=item: timeline.timed("finish", lambda: (time.sleep(SLOW_S), item * 10)[1])) for item in batch]

    thread = RenderThread(render, depth=2)
    thread.submit([1, 2])
    thread.submit([3])
    done = collect_all(thread, 2)
    thread.stop()
    assert [(list(b), r) for b, r in done] == [([1, 2], [10, 20]), ([3], [30])]  # resolved, in order
    (r1, r2), first_finish_end = timeline.of("render"), timeline.of("finish")[1][1]
    assert r2[0] < first_finish_end  # batch 2 rendered before batch 1 finished encoding


def test_a_failing_finish_is_that_job_s_result_only():
    thread = RenderThread(lambda batch: [Deferred(lambda: 1), Deferred(lambda: 1 / 0)], depth=2)
    thread.submit(["a", "b"])
    ((_, results),) = collect_all(thread, 1)
    thread.stop()
    assert results[0] == 1 and isinstance(results[1], ZeroDivisionError)


def _job(index: int) -> Job:
    request = StoryboardRequested(
        f"r{index}", f"job-{index}", "p1", scenes=(Scene("s1", "a fox in a forest"),),
        style_config=StyleConfig(style="watercolor", width=64, height=64, steps=3, seed=index),
    )  # fmt: skip
    message = ConsumedMessage("media.image.requested.v1", 0, index, b"p1", b"")
    return Job("p1", message, request, plan_scenes(request), trace="")


def test_sdxl_batches_render_while_the_previous_one_is_encoded(fresh_sdxl, tmp_path, monkeypatch):
    from media_stream.render.image import sdxl_finish
    from media_stream.runtime.image_medium import ImageMedium
    from media_stream.storage.filesystem import FilesystemStore

    timeline = Timeline()
    real_encode = sdxl_finish.encode_png
    monkeypatch.setattr(sdxl_finish, "encode_png", lambda image: timeline.timed("encode", lambda: (time.sleep(SLOW_S), real_encode(image))[1]))
    real_call = fresh_sdxl._call_pipeline
    monkeypatch.setattr(fresh_sdxl, "_call_pipeline", lambda pipe, kwargs: timeline.timed("pipeline", real_call, pipe, kwargs))
    store = FilesystemStore(tmp_path)
    medium = ImageMedium(fresh_sdxl, store, routes=None, encoder=None)
    assert fresh_sdxl.defers_finishing

    thread = RenderThread(lambda batch: medium.render(batch, lambda job: False), depth=2)
    jobs = [_job(1), _job(2)]
    thread.submit([jobs[0]])
    thread.submit([jobs[1]])
    done = collect_all(thread, 2)
    thread.stop()

    results = [r for _, rs in done for r in rs]
    assert [type(r).__name__ for r in results] == ["ImageReady", "ImageReady"]
    assert all(store.exists(r.storage_key) for r in results)  # stored by the finishing worker
    (first_call, second_call), (first_encode, _) = timeline.of("pipeline"), timeline.of("encode")
    assert first_call[1] <= first_encode[0]  # encoding starts after its render ...
    assert second_call[0] < first_encode[1]  # ... and the next render starts before that encode ends


def test_render_alone_still_returns_encoded_images(fresh_sdxl, monkeypatch):
    from media_stream.render.image import sdxl_finish

    calls = []
    real_encode = sdxl_finish.encode_png
    monkeypatch.setattr(sdxl_finish, "encode_png", lambda image: calls.append(1) or real_encode(image))
    (image,) = fresh_sdxl.render([plan_scenes(_job(3).request)[0]])
    assert image.data.startswith(b"\x89PNG") and calls == [1]
