"""A renderer that does no work: a fixed 8x8 PNG per scene. For pipeline benchmarks only."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image

from media_stream.domain.scenes import SceneWork
from media_stream.render.image.base import RenderedImage

MODEL_ID = "null (benchmark renderer: no image work)"


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


class NullRenderer:
    name = "null"

    def __init__(self, max_batch_size: int = 64) -> None:
        self.max_batch_size = max_batch_size
        self._png = _tiny_png()

    def load(self) -> None:
        pass

    def render(self, batch: Sequence[SceneWork], hooks: object = None) -> list[RenderedImage]:
        return [RenderedImage(self._png, "image/png", "png", w.width, w.height, w.seed, MODEL_ID, 0) for w in batch]
