"""OOM recovery: the retry runs after the failed call's tensors are released, and low-memory mode
and the lowered batch cap come back after a run of successes. The stand-in for the pipeline
call allocates an "activation" tensor and raises torch.OutOfMemoryError the way a CUDA
allocation does, from inside the call, so the tensor is referenced by the traceback's frame."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

from tests.unit.render.helpers import scene


class OomStandIn:
    """Replaces ``SdxlRenderer._call_pipeline``: fails while ``fail(batch_size, low_memory)``."""

    def __init__(self, renderer, fail):
        self.renderer = renderer
        self.real = renderer._call_pipeline
        self.fail = fail
        self.alive_at_call: list[bool] = []  # was the previous failed call's tensor still allocated?
        self.last_activation: weakref.ref | None = None
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, pipe, kwargs):
        gc_free = self.last_activation is None or self.last_activation() is None
        self.alive_at_call.append(not gc_free)
        batch, low = len(kwargs["prompt"]), self.renderer.loaded.low_memory
        self.calls.append((batch, low))
        if self.fail(batch, low):
            activation = torch.empty(batch, 4, 64, 64)  # what the failed call had allocated
            self.last_activation = weakref.ref(activation)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        return self.real(pipe, kwargs)


@pytest.fixture
def recovering_sdxl(sdxl_settings):
    from media_stream.render.image.sdxl import SdxlRenderer

    renderer = SdxlRenderer(sdxl_settings.model_copy(update={"oom_recovery_calls": 3, "ip_adapter_model": None}), max_batch_size=4)
    renderer.load()
    return renderer


def test_the_retry_runs_after_the_failed_calls_tensors_are_freed(recovering_sdxl, monkeypatch):
    freed = []
    real_free = recovering_sdxl._free_memory
    monkeypatch.setattr(recovering_sdxl, "_free_memory", lambda: (freed.append(True), real_free()))
    stand_in = OomStandIn(recovering_sdxl, lambda batch, low: batch > 1)
    monkeypatch.setattr(recovering_sdxl, "_call_pipeline", stand_in)
    images = recovering_sdxl.render([scene(1), scene(2)])
    assert [i.seed for i in images] == [1, 2]
    assert stand_in.calls == [(2, False), (1, False), (1, False)]
    # On the old code the retry ran inside the except block: the traceback kept the frame, and
    # with it the failed call's tensor, alive during the retry (alive_at_call == [False, True, True]).
    assert stand_in.alive_at_call == [False, False, False]
    assert freed, "gc.collect()/empty_cache() ran before the retry"


def test_low_memory_mode_is_left_after_a_run_of_successes(recovering_sdxl, monkeypatch):
    first = {"done": False}

    def fail(batch, low):
        if not low and not first["done"]:
            return True
        first["done"] = True
        return False

    stand_in = OomStandIn(recovering_sdxl, fail)
    monkeypatch.setattr(recovering_sdxl, "_call_pipeline", stand_in)
    recovering_sdxl.render([scene(1)])
    base = recovering_sdxl.loaded.base
    assert recovering_sdxl.loaded.low_memory and base.vae.use_tiling
    assert {type(p).__name__ for p in base.unet.attn_processors.values()} == {"SlicedAttnProcessor"}
    recovering_sdxl.render([scene(2)])
    assert recovering_sdxl.loaded.low_memory  # two successes so far (the retry and this one)
    recovering_sdxl.render([scene(3)])
    assert not recovering_sdxl.loaded.low_memory and not base.vae.use_tiling
    assert "SlicedAttnProcessor" not in {type(p).__name__ for p in base.unet.attn_processors.values()}
    recovering_sdxl.render([scene(4)])
    assert stand_in.calls[-2:] == [(1, True), (1, False)]


def test_the_lowered_batch_cap_doubles_back_after_runs_of_successes(recovering_sdxl, monkeypatch):
    failing = {"on": True}
    stand_in = OomStandIn(recovering_sdxl, lambda batch, low: failing["on"] and batch > 1)
    monkeypatch.setattr(recovering_sdxl, "_call_pipeline", stand_in)
    works = [scene(1), scene(2), scene(3), scene(4)]
    recovering_sdxl.render(works)  # 4 -> halves of 2 -> singles; the last failure leaves 2 successes
    assert recovering_sdxl._batch_cap == 1
    failing["on"] = False
    stand_in.calls.clear()
    recovering_sdxl.render(works)  # at cap 1: the 1st success makes 3 in a row -> cap 2 for the rest
    assert [b for b, _ in stand_in.calls] == [1, 2, 1]
    assert recovering_sdxl._batch_cap == 2
    stand_in.calls.clear()
    images = recovering_sdxl.render(works)  # 3 more in a row -> cap 4 after the first call
    assert [b for b, _ in stand_in.calls] == [2, 2]
    assert [i.seed for i in images] == [1, 2, 3, 4] and recovering_sdxl._batch_cap == 4
    stand_in.calls.clear()
    recovering_sdxl.render(works)
    assert [b for b, _ in stand_in.calls] == [4]


def test_a_cap_lowered_mid_batch_still_renders_every_item_once(recovering_sdxl, monkeypatch):
    # Old code stepped through the batch by the cap it started with and sliced by the lowered
    # one: with 8 items at cap 4, an OOM in the first chunk left items 7 and 8 unrendered.
    stand_in = OomStandIn(recovering_sdxl, lambda batch, low: batch > 2)
    monkeypatch.setattr(recovering_sdxl, "_call_pipeline", stand_in)
    images = recovering_sdxl.render([scene(i) for i in range(1, 9)])
    assert [i.seed for i in images] == list(range(1, 9))
    assert [b for b, _ in stand_in.calls] == [4, 2, 2, 2, 2]


def test_an_out_of_memory_resets_the_run_of_successes(recovering_sdxl, monkeypatch):
    from media_stream.domain.errors import PermanentError

    outcomes = iter([True, False, False, True, False, False, False])  # True: this call runs out of memory
    stand_in = OomStandIn(recovering_sdxl, lambda batch, low: next(outcomes))
    monkeypatch.setattr(recovering_sdxl, "_call_pipeline", stand_in)
    recovering_sdxl.render([scene(1)])  # out of memory, low-memory mode, success 1
    recovering_sdxl.render([scene(2)])  # success 2
    with pytest.raises(PermanentError, match="out of memory"):
        recovering_sdxl.render([scene(3)])  # out of memory even in low-memory mode: the run starts over
    recovering_sdxl.render([scene(4)])
    recovering_sdxl.render([scene(5)])
    assert recovering_sdxl.loaded.low_memory  # two successes since the last failure
    recovering_sdxl.render([scene(6)])
    assert not recovering_sdxl.loaded.low_memory
