"""Where an image agent reads and writes: topic names taken from topics.yaml by role."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageRoutes:
    requests: str = "media.image.requested.v1"
    image_ready: str = "media.image.ready.v1"
    batch_completed: str = "media.batch.completed.v1"
    job_status: str = "media.job.status.v1"
    job_failed: str = "media.job.failed.v1"
    dead_letters: str = "media.image.requested.v1.dlq"
    request_types: tuple[str, ...] = ("ImageRequested", "StoryboardRequested")
