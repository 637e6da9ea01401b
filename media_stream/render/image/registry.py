"""Backends chosen by configuration."""

from __future__ import annotations

from media_stream.config import WorkerSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.render.image.base import ImageRenderer


def image_renderer(settings: WorkerSettings) -> ImageRenderer:
    if settings.image_backend == "preview":
        from media_stream.render.image.preview import PreviewRenderer

        return PreviewRenderer(max_batch_size=settings.max_batch_size)
    if settings.image_backend == "sdxl":
        try:
            from media_stream.render.image.sdxl import SdxlRenderer  # imports torch and diffusers
        except ImportError as exc:
            raise ConfigurationError(
                f"image backend 'sdxl' needs the image extra (uv sync --extra image): {exc}"
            ) from exc

        return SdxlRenderer(settings.sdxl, max_batch_size=settings.max_batch_size)
    if settings.image_backend == "hold":
        from media_stream.render.image.hold import HoldRenderer

        return HoldRenderer(hold_s=settings.hold_s, max_batch_size=settings.max_batch_size)
    raise ConfigurationError(f"unknown image backend {settings.image_backend!r} (allowed: preview, sdxl, hold)")
