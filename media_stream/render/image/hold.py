"""The "hold" stand-in renderer: each batch holds for ``hold_s`` (a sleep standing in for the GPU)
and returns a small solid PNG per scene. It is what the scale-out test and ``bench scale`` run:
the render costs wall time but no CPU, so agents on one machine scale as GPUs would.
"""

from __future__ import annotations

import io
import time
from functools import lru_cache
from typing import Sequence

from PIL import Image

from media_stream.domain.errors import RenderCancelled
from media_stream.domain.scenes import SceneWork
from media_stream.render.image.base import RenderedImage, RenderHooks

MODEL_ID = "hold/stand-in (no model: a fixed hold per batch)"
CANCEL_POLL_S = 0.05


class HoldRenderer:
    name = "hold"

    def __init__(self, hold_s: float = 0.1, max_batch_size: int = 4) -> None:
        self.hold_s = hold_s
        self.max_batch_size = max_batch_size

    def load(self) -> None:
        pass

    def render(self, batch: Sequence[SceneWork], hooks: RenderHooks | None = None) -> list[RenderedImage]:
        deadline = time.monotonic() + self.hold_s
        while (left := deadline - time.monotonic()) > 0:
            if hooks is not None and hooks.cancelled():
                raise RenderCancelled(f"cancelled while holding a batch of {len(batch)}")
            time.sleep(min(left, CANCEL_POLL_S))
        if hooks is not None:
            hooks.progress(1, 1)
        render_ms = int(self.hold_s * 1000)
        return [
            RenderedImage(_solid_png(w.width, w.height), "image/png", "png", w.width, w.height, w.seed, MODEL_ID, render_ms)
            for w in batch
        ]


@lru_cache(maxsize=32)
def _solid_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(buffer, format="PNG")
    return buffer.getvalue()
