"""A renderer with faults a prompt asks for, on top of the scripted renderer (real PNGs, delays, a
render log): ``raise=bug`` raises a RuntimeError, ``hang`` blocks until the test releases it,
``oom=host`` raises MemoryError, ``oom=cuda`` torch's CUDA OutOfMemoryError."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from media_stream.domain.scenes import SceneWork
from media_stream.render.image.base import RenderedImage
from tests.helpers.scripted_renderer import ScriptedRenderer


class FaultyRenderer(ScriptedRenderer):
    name = "faulty"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.release = threading.Event()  # set at the end of a test: a hung render returns
        self.hung = 0
        self.batch_sizes: list[int] = []  # every call, faulty or not

    def render(self, batch: Sequence[SceneWork], hooks: object = None) -> list[RenderedImage]:
        self.batch_sizes.append(len(batch))
        prompts = " ".join(w.prompt for w in batch)
        if "raise=bug" in prompts:
            raise RuntimeError("renderer bug: index out of range in the scheduler")
        if "oom=host" in prompts:
            raise MemoryError("cannot allocate 12 GiB")
        if "oom=cuda" in prompts:
            import torch

            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        if "hang" in prompts:
            self.hung += 1
            self.release.wait(120)
        return super().render(batch, hooks)
