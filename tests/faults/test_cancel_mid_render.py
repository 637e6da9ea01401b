"""A cancel that arrives while a tiny-SDXL render is denoising (the production loading code, real
diffusers pipeline on the CPU): the render stops within one denoising step of the agent seeing
the cancel, far short of the steps asked; the job ends cancelled with no image, and the next
request of the project renders normally."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported anywhere

import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from media_stream.config import SdxlSettings, Settings
from media_stream.domain.errors import RenderCancelled
from media_stream.domain.outcomes import ImageReady
from media_stream.domain.requests import CancelRequested, ImageRequested
from media_stream.render.image.base import RenderHooks
from media_stream.runtime.routes import AgentRoutes
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect_to_end
from tests.helpers.requests import publish

pytestmark = pytest.mark.kafka
STEPS = 50
# Each denoising step is held this much longer (in the step-end callback, as a slower device
# would): at least 10 s for the whole render, so the cancel lands mid-render however fast the CPU.
STEP_HOLD_S = 0.2


class StepCounting:
    """The SDXL renderer, each denoising step held ``STEP_HOLD_S`` longer and counted: ``steps`` done so far,
    ``cancel_seen_at`` the step count when the renderer first saw the cancel; ``cancelled``
    (RenderCancelled, steps when the cancel was first seen) of the call that was cancelled."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.max_batch_size = inner.name, inner.max_batch_size
        self.steps = 0
        self.cancel_seen_at: int | None = None
        self.cancelled: tuple[RenderCancelled, int | None] | None = None
        self.started = threading.Event()

    def load(self) -> None:
        self.inner.load()

    def render(self, batch: Sequence[Any], hooks: RenderHooks | None = None) -> list[Any]:
        self.steps, self.cancel_seen_at = 0, None
        outer = hooks or RenderHooks()

        def progress(done: int, total: int) -> None:
            self.steps = done
            self.started.set()
            outer.progress(done, total)
            time.sleep(STEP_HOLD_S)

        def is_cancelled() -> bool:
            cancelled = outer.cancelled()
            if cancelled and self.cancel_seen_at is None:
                self.cancel_seen_at = self.steps
            return cancelled

        try:
            return self.inner.render(batch, RenderHooks(on_progress=progress, is_cancelled=is_cancelled, min_interval_s=0.0))
        except RenderCancelled as exc:
            self.cancelled = (exc, self.cancel_seen_at)
            raise


def test_a_cancel_stops_a_running_tiny_sdxl_render_within_one_denoising_step(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    from media_stream.render.image.sdxl import SdxlRenderer
    from tests.tiny_models.sdxl import build_sdxl_folders

    folders = build_sdxl_folders(tmp_path / "tiny-sdxl")
    sdxl = SdxlSettings(model=str(folders.model), controlnet_model=None, ip_adapter_model=None, consistency_model=None, device="cpu")
    renderer = StepCounting(SdxlRenderer(sdxl, max_batch_size=1))
    running = start_agent(renderer)
    long = ImageRequested("req-long", "long", "proj-s", prompt="a kite over the sea", width=64, height=64, steps=STEPS, seed=1)
    publish(settings, kafka_bootstrap, routes, long)
    assert renderer.started.wait(180), "the SDXL render did not start within 180s"
    while renderer.steps < 2:
        time.sleep(0.01)
    steps_at_cancel = renderer.steps
    publish(settings, kafka_bootstrap, routes, CancelRequested("cancel-long", "long", "proj-s", "not this one"))
    seen = collect_to_end(settings, routes, kafka_bootstrap, all_ended([long]), timeout_s=240)
    after = ImageRequested("req-after", "after", "proj-s", prompt="a boat", width=64, height=64, steps=2, seed=2)
    publish(settings, kafka_bootstrap, routes, after)
    seen = collect_to_end(settings, routes, kafka_bootstrap, all_ended([long, after]), timeout_s=240)
    running.stop()

    assert assert_accounted(seen, [long, after]) == {"long": "cancelled", "after": "completed"}
    assert not any(isinstance(e, ImageReady) and e.job_id == "long" for _, e in seen)
    assert renderer.cancelled is not None, "the render was not cancelled: it ran to the end"
    cancelled, seen_at = renderer.cancelled
    done = int(re.search(r"after (\d+) of (\d+) steps", str(cancelled)).group(1))  # type: ignore[union-attr]
    print(f"steps asked {STEPS}, done when the cancel was published {steps_at_cancel}, when the renderer saw it {seen_at}, when it stopped {done}")
    assert seen_at is not None and done - seen_at <= 1, f"the render went on {done - (seen_at or 0)} steps after it saw the cancel"
    assert steps_at_cancel <= done < STEPS
