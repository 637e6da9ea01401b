"""The narrow renderer interface: one Protocol per medium (images here; audio follows it)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence, runtime_checkable

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
    # Mean of ``character_scores`` (None: not scored).
    consistency: float | None = None
    # The end of the prompt the text encoders did not see (past their token limit); None: all seen.
    prompt_omitted: str | None = None
    # characterId -> image-embedding cosine between the character's region and its reference.
    character_scores: dict[str, float] | None = None


@dataclass
class RenderHooks:
    """Cooperative progress and cancel, passed by the runtime to ``ImageRenderer.render``.

    ``on_progress(done_steps, total_steps)`` is called through ``progress``, which throttles it
    to one call per ``min_interval_s`` (the last step always goes through). ``is_cancelled()``
    is polled by the renderer before each image and between denoising steps; a renderer that
    sees it true stops and raises ``RenderCancelled``.
    """

    on_progress: Callable[[int, int], None] | None = None
    is_cancelled: Callable[[], bool] | None = None
    min_interval_s: float = 0.5
    _last_report: float = field(default=float("-inf"), init=False, repr=False)

    def progress(self, done_steps: int, total_steps: int) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if done_steps >= total_steps or now - self._last_report >= self.min_interval_s:
            self._last_report = now
            self.on_progress(done_steps, total_steps)

    def cancelled(self) -> bool:
        return bool(self.is_cancelled is not None and self.is_cancelled())


@runtime_checkable
class ImageRenderer(Protocol):
    """A backend loads once, stays warm, and renders batches of compatible scene work."""

    name: str
    max_batch_size: int

    def load(self) -> None:
        """Load weights (or nothing); called once per agent before the first render."""

    def render(self, batch: Sequence[SceneWork], hooks: RenderHooks | None = None) -> list[RenderedImage]:
        """Render every item, in order. Items share a ``SceneWork.batch_key``.

        With ``hooks``: report progress and stop (raising ``RenderCancelled``) when cancelled."""
        ...
