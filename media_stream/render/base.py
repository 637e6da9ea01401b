"""The narrow renderer interface: one Protocol per medium (images here; audio follows it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

from media_stream.domain.scenes import SceneWork


@dataclass(frozen=True)
class RenderedImage:
    """Bytes plus what reproduces them."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    seed: int
    model: str
    render_ms: int


@runtime_checkable
class ImageRenderer(Protocol):
    """A backend loads once, stays warm, and renders batches of compatible scene work."""

    name: str
    max_batch_size: int

    def load(self) -> None:
        """Load weights (or nothing); called once per agent before the first render."""

    def render(self, batch: Sequence[SceneWork]) -> list[RenderedImage]:
        """Render every item, in order. Items share a ``SceneWork.batch_key``."""
        ...
