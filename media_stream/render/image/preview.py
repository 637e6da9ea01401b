"""The embedded preview renderer: no GPU, no weights, clearly labelled as a preview.

Deterministic from (prompt, style, seed, size): the same work gives the same PNG bytes, so a
retried render overwrites its object with identical content. It draws a palette and shapes
derived from the seed and the prompt, the scene id and a 'PREVIEW' banner.
"""

from __future__ import annotations

import hashlib
import io
import random
import unicodedata
import time
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from media_stream.domain.scenes import SceneWork
from media_stream.domain.errors import RenderCancelled
from media_stream.render.image.base import RenderedImage, RenderHooks

MODEL_ID = "preview/embedded-v1 (not a diffusion model)"


class PreviewRenderer:
    name = "preview"

    def __init__(self, max_batch_size: int = 8) -> None:
        self.max_batch_size = max_batch_size

    def load(self) -> None:
        ImageFont.load_default()

    def render(self, batch: Sequence[SceneWork], hooks: RenderHooks | None = None) -> list[RenderedImage]:
        images = []
        for done, work in enumerate(batch):
            if hooks is not None and hooks.cancelled():
                raise RenderCancelled(f"cancelled before scene {work.scene_id!r} ({done} of {len(batch)} rendered)")
            images.append(self._render_one(work))
            if hooks is not None:
                hooks.progress(done + 1, len(batch))
        return images

    def _render_one(self, work: SceneWork) -> RenderedImage:
        started = time.perf_counter()
        digest = hashlib.sha256(f"{work.prompt}\x1f{work.style}\x1f{work.seed}".encode()).digest()
        rng = random.Random(digest)
        image = Image.new("RGB", (work.width, work.height))
        draw = ImageDraw.Draw(image)
        top, bottom = _colour(rng), _colour(rng)
        for y in range(work.height):
            t = y / max(1, work.height - 1)
            draw.line([(0, y), (work.width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
        for _ in range(6 + len(work.characters) * 2):
            x, y = rng.randrange(work.width), rng.randrange(work.height)
            r = rng.randrange(max(4, min(work.width, work.height) // 16), max(8, min(work.width, work.height) // 4))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=_colour(rng), outline=(255, 255, 255))
        _label(draw, work)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=False)
        return RenderedImage(
            data=buffer.getvalue(),
            content_type="image/png",
            extension="png",
            width=work.width,
            height=work.height,
            seed=work.seed,
            model=MODEL_ID,
            render_ms=int((time.perf_counter() - started) * 1000),
        )


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(40, 230), rng.randrange(40, 230), rng.randrange(40, 230)


def _printable(text: str) -> str:
    """Pillow's embedded font is ASCII only: 'Léa' is labelled 'Lea' rather than a box."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c if c.isascii() else "?" for c in decomposed if not unicodedata.combining(c))


def _label(draw: ImageDraw.ImageDraw, work: SceneWork) -> None:
    font = ImageFont.load_default()
    prompt = _printable(work.prompt)
    # Pixels depend on the scene's work only (prompt, style, seed, size), not on its position in a
    # storyboard: a catalog entry's one-scene request renders the same bytes (media-stream rerender).
    lines = ["PREVIEW - not a diffusion render", f"scene {work.scene_id}", f"seed {work.seed}"]
    lines += [prompt[i : i + 48] for i in range(0, min(len(prompt), 144), 48)]
    y = 4
    for line in lines:
        draw.rectangle([2, y - 1, 4 + 6 * len(line), y + 11], fill=(0, 0, 0))
        draw.text((4, y), line, fill=(255, 255, 255), font=font)
        y += 13
