"""What happens to a decoded SDXL image after the GPU is done with it: PNG encoding and the
per-character consistency score. Both are CPU work (and a small encoder call), so the runtime
runs them on a worker beside the render thread (``PendingImage.finish``), while the next batch
renders; ``SdxlRenderer.render`` calls ``finish`` inline for callers that want bytes at once.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from media_stream.domain.scenes import SceneWork
from media_stream.render.image.base import RenderedImage
from media_stream.render.image.character_regions import Region, crop

log = logging.getLogger(__name__)


def encode_png(image: Any) -> bytes:
    """The one place a rendered image becomes PNG bytes (tests replace it with a slow stub)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class PendingImage:
    """A decoded image (PIL) not yet encoded nor scored; ``finish()`` may run on any thread."""

    work: SceneWork
    image: Any = field(repr=False)
    model: str
    render_ms: int
    regions: tuple[Region, ...] = ()  # one per reference, in the scene's reference order
    embedder: Any = None  # ImageEmbedder or None (no scoring)
    encode: Callable[[Any], bytes] | None = None
    prompt_omitted: str | None = None  # the end of the prompt the text encoders did not see

    def finish(self) -> RenderedImage:
        data = (self.encode or encode_png)(self.image)
        scores = None
        if self.embedder is not None:
            try:
                scores = character_scores(self.embedder, self.image, self.work, self.regions)
            except Exception:  # noqa: BLE001 - a metric that fails never fails the image
                log.exception("consistency scoring of scene %s failed: published unscored", self.work.scene_id)
        return RenderedImage(
            data=data,
            content_type="image/png",
            extension="png",
            width=self.image.width,
            height=self.image.height,
            seed=self.work.seed,
            model=self.model,
            render_ms=self.render_ms,
            consistency=round(sum(scores.values()) / len(scores), 6) if scores else None,
            character_scores=scores or None,
            prompt_omitted=self.prompt_omitted,
        )


def character_scores(embedder: Any, image: Any, work: SceneWork, regions: tuple[Region, ...]) -> dict[str, float]:
    """characterId -> cosine between the character's region of the image and its reference
    (the whole image when the scene has one character); {} when the scene has no references."""
    from media_stream.render.image.consistency import cosine

    references = work.references
    if not references:
        return {}
    crops = [encode_png(crop(image, r)) for r in regions] if len(regions) == len(references) else [encode_png(image)] * len(references)
    rows = embedder.embed([*crops, *(r.image for r in references)])
    n = len(references)
    return {ref.character_id: round(cosine(rows[k], rows[n + k]), 6) for k, ref in enumerate(references)}
