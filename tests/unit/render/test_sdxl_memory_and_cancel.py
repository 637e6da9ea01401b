"""Out-of-memory policy (split, then slicing + tiling, then a PermanentError) and cooperative
progress and cancel, on the tiny SDXL models. OOM is simulated by patching the pipeline call."""

from __future__ import annotations

import numpy as np
import pytest

import torch

from media_stream.domain.errors import PermanentError, RenderCancelled
from media_stream.render.image.base import RenderHooks
from tests.unit.render.helpers import pixels, scene


def oom_above(renderer, monkeypatch, largest_batch_that_fits: int):
    real = renderer._call_pipeline

    def call(pipe, kwargs):
        if len(kwargs["prompt"]) > largest_batch_that_fits:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        return real(pipe, kwargs)

    monkeypatch.setattr(renderer, "_call_pipeline", call)


def test_out_of_memory_splits_the_batch_and_remembers_the_smaller_size(fresh_sdxl, monkeypatch):
    works = [scene(1), scene(2), scene(3), scene(4)]
    expected = [fresh_sdxl.render([w])[0] for w in works]
    oom_above(fresh_sdxl, monkeypatch, 1)
    fresh_sdxl.pipeline_calls.clear()
    images = fresh_sdxl.render(works)
    assert fresh_sdxl.pipeline_calls == [4, 2, 1, 1, 2, 1, 1]  # attempts, in order
    assert [i.seed for i in images] == [1, 2, 3, 4]
    for got, want in zip(images, expected):
        assert np.abs(pixels(got.data) - pixels(want.data)).max() <= 2
    fresh_sdxl.pipeline_calls.clear()
    fresh_sdxl.render(works)
    assert fresh_sdxl.pipeline_calls == [1, 1, 1, 1]  # no second trip through the OOM path
    assert not fresh_sdxl.loaded.low_memory


def test_out_of_memory_alone_enables_slicing_and_tiling_then_fails_permanently(fresh_sdxl, monkeypatch):
    oom_above(fresh_sdxl, monkeypatch, 0)
    with pytest.raises(PermanentError, match="out of memory.*s7.*64x64.*slicing.*tiling"):
        fresh_sdxl.render([scene(7)])
    assert fresh_sdxl.loaded.low_memory
    assert fresh_sdxl.loaded.base.vae.use_tiling


def test_low_memory_mode_is_enough_when_it_is_enough(fresh_sdxl, monkeypatch):
    real = fresh_sdxl._call_pipeline

    def call(pipe, kwargs):
        if not fresh_sdxl.loaded.low_memory:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(pipe, kwargs)

    monkeypatch.setattr(fresh_sdxl, "_call_pipeline", call)
    (image,) = fresh_sdxl.render([scene(3)])
    assert image.seed == 3 and fresh_sdxl.loaded.low_memory


def test_other_errors_are_not_mistaken_for_out_of_memory(fresh_sdxl, monkeypatch):
    def call(pipe, kwargs):
        raise ValueError("something else")

    monkeypatch.setattr(fresh_sdxl, "_call_pipeline", call)
    with pytest.raises(ValueError):
        fresh_sdxl.render([scene(1), scene(2)])
    assert fresh_sdxl.pipeline_calls[-1] == 2 and not fresh_sdxl.loaded.low_memory


def test_cancel_stops_between_steps(sdxl):
    progress = []
    hooks = RenderHooks(
        on_progress=lambda done, total: progress.append((done, total)),
        is_cancelled=lambda: len(progress) >= 2,
        min_interval_s=0.0,
    )
    with pytest.raises(RenderCancelled, match="after 2 of 10 steps"):
        sdxl.render([scene(1, steps=10), scene(2, steps=10)], hooks)
    assert progress == [(1, 10), (2, 10)]
    (image,) = sdxl.render([scene(1, steps=3)])  # the pipeline is usable again
    assert image.seed == 1


def test_cancel_before_the_call_renders_nothing(sdxl):
    before = len(sdxl.pipeline_calls)
    with pytest.raises(RenderCancelled):
        sdxl.render([scene(1)], RenderHooks(is_cancelled=lambda: True))
    assert len(sdxl.pipeline_calls) == before


def test_progress_is_throttled_but_the_last_step_always_reported():
    seen = []
    hooks = RenderHooks(on_progress=lambda d, t: seen.append(d), min_interval_s=3600)
    for step in range(1, 31):
        hooks.progress(step, 30)
    assert seen == [1, 30]


def test_preview_renderer_honours_cancel_before_each_image():
    from media_stream.render.image.preview import PreviewRenderer

    done = []
    hooks = RenderHooks(on_progress=lambda d, t: done.append(d), is_cancelled=lambda: len(done) >= 1, min_interval_s=0)
    with pytest.raises(RenderCancelled):
        PreviewRenderer().render([scene(1), scene(2), scene(3)], hooks)
    assert done == [1]


def test_without_ip_adapter_low_memory_mode_also_slices_attention(sdxl_settings, monkeypatch):
    from media_stream.render.image.sdxl import SdxlRenderer

    renderer = SdxlRenderer(sdxl_settings.model_copy(update={"ip_adapter_model": None}))
    renderer.load()
    oom_above(renderer, monkeypatch, 0)
    with pytest.raises(PermanentError):
        renderer.render([scene(1)])
    processors = {type(p).__name__ for p in renderer.loaded.base.unet.attn_processors.values()}
    assert processors == {"SlicedAttnProcessor"}


def test_attention_slicing_with_an_ip_adapter_is_refused_at_load(sdxl_settings):
    from media_stream.domain.errors import ConfigurationError
    from media_stream.render.image.sdxl import SdxlRenderer

    with pytest.raises(ConfigurationError, match="attention_slicing"):
        SdxlRenderer(sdxl_settings.model_copy(update={"attention_slicing": True})).load()
