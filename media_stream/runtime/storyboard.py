"""Render a storyboard scene by scene: render, store under its deterministic key, report.

Pure orchestration of the renderer and the store; it knows nothing of Kafka. Transient faults
are retried with bounded backoff; a scene that still fails is reported, not raised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

from media_stream.domain.errors import MediaStreamError, RetriableError
from media_stream.domain.ids import storage_key
from media_stream.domain.outcomes import ImageReady, SceneFailure
from media_stream.domain.requests import StoryboardRequested
from media_stream.domain.scenes import SceneWork, plan_scenes
from media_stream.render.base import ImageRenderer
from media_stream.storage.base import ObjectStore

IMAGE_KIND = "images"


@dataclass(frozen=True)
class SceneResult:
    work: SceneWork
    ready: ImageReady | None = None
    failure: SceneFailure | None = None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_backoff_s: float = 0.2
    max_backoff_s: float = 5.0

    def delays(self) -> Iterator[float]:
        delay = self.first_backoff_s
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.max_backoff_s)


class StoryboardRenderer:
    def __init__(self, renderer: ImageRenderer, store: ObjectStore, retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep) -> None:
        self.renderer = renderer
        self.store = store
        self.retry = retry
        self.sleep = sleep

    def scenes(self, request: StoryboardRequested) -> Iterator[SceneResult]:
        """Each scene's result, in scene order, as soon as its file is stored."""
        for work in plan_scenes(request):
            yield self._scene(request, work)

    def _scene(self, request: StoryboardRequested, work: SceneWork) -> SceneResult:
        delays = self.retry.delays()
        while True:
            try:
                return SceneResult(work, ready=self._render_and_store(request, work))
            except RetriableError as exc:
                delay = next(delays, None)
                if delay is None:
                    return SceneResult(work, failure=SceneFailure(work.scene_id, f"gave up after {self.retry.attempts} attempts: {exc}"))
                self.sleep(delay)
            except MediaStreamError as exc:
                return SceneResult(work, failure=SceneFailure(work.scene_id, f"{type(exc).__name__}: {exc}"))

    def _render_and_store(self, request: StoryboardRequested, work: SceneWork) -> ImageReady:
        (image,) = self.renderer.render([work])
        key = storage_key(IMAGE_KIND, request.project_id, request.job_id, work.scene_id, request.render_version, image.extension)
        stored = self.store.put(
            key,
            image.data,
            image.content_type,
            {
                "jobId": request.job_id,
                "projectId": request.project_id,
                "model": image.model,
                "renderVersion": str(request.render_version),
                "seed": str(image.seed),
            },
        )
        return ImageReady(
            job_id=request.job_id,
            project_id=request.project_id,
            request_id=request.request_id,
            render_version=request.render_version,
            scene_id=work.scene_id,
            scene_index=work.scene_index,
            url=stored.url,
            storage_key=stored.key,
            width=image.width,
            height=image.height,
            seed=image.seed,
            prompt=work.prompt,
            negative_prompt=work.negative_prompt,
            model=image.model,
            render_ms=image.render_ms,
            sha256=stored.sha256,
        )
