"""Request events as tests send them, and the publishing."""

from __future__ import annotations

from media_stream.client.publisher import RequestPublisher
from media_stream.config import Settings
from media_stream.domain.requests import CancelRequested, ImageRequested, Scene, StoryboardRequested, StyleConfig
from media_stream.runtime.routes import AgentRoutes


def storyboard(job: str, project: str, scenes: int, extra: str = "", request_id: str | None = None) -> StoryboardRequested:
    return StoryboardRequested(
        request_id=request_id or f"req-{job}",
        job_id=job,
        project_id=project,
        scenes=tuple(Scene(f"s{i}", f"{job}-s{i} {extra}".strip()) for i in range(scenes)),
        style_config=StyleConfig(width=64, height=64, steps=5, seed=1),
    )


def image(job: str, project: str, prompt: str | None = None) -> ImageRequested:
    return ImageRequested(f"req-{job}", job, project, prompt=prompt or job, width=64, height=64, seed=1)


def publish(settings: Settings, bootstrap: str, routes: AgentRoutes, *requests: object) -> None:
    """Each request on the routes' requests topic (a cancel on the control topic)."""
    publisher = RequestPublisher(settings, bootstrap)
    for request in requests:
        topic = routes.control if isinstance(request, CancelRequested) else routes.requests
        publisher.publish(request, topic=topic)
    publisher.close()
