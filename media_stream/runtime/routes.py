"""Where an image agent reads and writes: topic names taken from topics.yaml by role."""

from __future__ import annotations

from dataclasses import dataclass

from media_stream.topics.spec import TopicsFile


@dataclass(frozen=True)
class ImageRoutes:
    requests: str
    image_ready: str
    batch_completed: str
    job_status: str
    job_failed: str
    dead_letters: str
    request_types: tuple[str, ...]

    @classmethod
    def from_topics(cls, topics: TopicsFile) -> ImageRoutes:
        requests = topics.by_role("image_requests")
        return cls(
            requests=requests.name,
            image_ready=topics.name("image_ready"),
            batch_completed=topics.name("batch_completed"),
            job_status=topics.name("job_status"),
            job_failed=topics.name("job_failed"),
            dead_letters=topics.name("image_requests_dlq"),
            request_types=requests.events,
        )
