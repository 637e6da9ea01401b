"""Backends chosen by configuration."""

from __future__ import annotations

from media_stream.config import WorkerSettings
from media_stream.domain.errors import ConfigurationError
from media_stream.render.base import ImageRenderer


def image_renderer(settings: WorkerSettings) -> ImageRenderer:
    if settings.image_backend == "preview":
        from media_stream.render.preview import PreviewRenderer

        return PreviewRenderer(max_batch_size=settings.max_batch_size)
    raise ConfigurationError(f"unknown image backend {settings.image_backend!r} (allowed: preview)")
