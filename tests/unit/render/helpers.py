"""Small builders shared by the render tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from media_stream.domain.scenes import SceneWork


def scene(seed: int = 1, prompt: str = "a fox in a forest", **changes) -> SceneWork:
    fields = dict(
        scene_id=f"s{seed}", scene_index=0, prompt=prompt, negative_prompt="blurry, low quality", style="watercolor",
        width=64, height=64, steps=3, guidance=7.5, seed=seed,
    )
    fields.update(changes)
    return SceneWork(**fields)


def png(draw=None, colour=(0, 0, 0), size=(64, 64)) -> bytes:
    image = Image.new("RGB", size, colour)
    if draw is not None:
        draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pixels(data: bytes):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)
