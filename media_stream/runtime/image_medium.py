"""Images as a medium: a request is a storyboard (a single image is a one-scene storyboard), a
step is a scene; scenes of different projects with the same size and settings share a batch.

With a renderer that defers its CPU work (``render_pending``, SDXL), ``render`` returns
``Deferred`` results: encoding, scoring and storing run on the render thread's finishing
worker while the next batch renders (``runtime/render_thread.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from media_stream.domain.assets import scene_reproduction
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.ids import storage_key
from media_stream.domain.outcomes import (
    BatchCompleted,
    ImageReady,
    ImageSummary,
    JobFailed,
    SceneFailure,
)
from media_stream.domain.requests import ImageRequested, StoryboardRequested
from media_stream.domain.scenes import SceneWork, plan_scenes
from media_stream.kafka.messages import OutgoingMessage
from media_stream.render.image.base import ImageRenderer, RenderHooks
from media_stream.runtime.character_references import (
    CharacterReferences,
    attach_references,
)
from media_stream.runtime.lineage import replay_of, request_source
from media_stream.runtime.medium import Plan
from media_stream.runtime.render_thread import Deferred
from media_stream.runtime.routes import AgentRoutes
from media_stream.runtime.scheduler import Job
from media_stream.serde.encoding import EventEncoder
from media_stream.state.records import JobProgress
from media_stream.storage.base import ObjectStore
from media_stream.storage.inputs import InputReader

IMAGE_KIND = "images"
Progress = Callable[[Job, float], None]  # (job, fraction of its current step done)


class ImageMedium:
    name = "image"

    def __init__(
        self,
        renderer: ImageRenderer,
        store: ObjectStore,
        routes: AgentRoutes,
        encoder: EventEncoder,
        characters: CharacterReferences | None = None,
    ) -> None:
        self.renderer = renderer
        self.store = store
        self.routes = routes
        self.encoder = encoder
        self.characters = characters  # None: the renderer cannot condition on references
        self.inputs = InputReader(store)

    def load(self) -> None:
        self.renderer.load()

    def plan(self, request: Any) -> Plan:
        storyboard: StoryboardRequested = request.as_storyboard() if isinstance(request, ImageRequested) else request
        return Plan(storyboard, plan_scenes(storyboard))

    def batch_key(self, job: Job) -> Hashable:
        return job.step.batch_key

    def render(self, jobs: Sequence[Job], is_cancelled: Callable[[Job], bool], on_progress: Progress | None = None) -> list[Any]:
        prepared: list[tuple[Job, SceneWork]] = []
        results: dict[int, Any] = {}
        for i, job in enumerate(jobs):
            try:
                prepared.append((job, self._with_references(job)))
            except MediaStreamError as exc:
                results[i] = exc
        hooks = RenderHooks(
            on_progress=(lambda done, total: [on_progress(job, done / total) for job, _ in prepared]) if on_progress else None,
            is_cancelled=lambda: all(is_cancelled(job) for job, _ in prepared),
        )
        rendered: list[Any]
        defer = getattr(self.renderer, "defers_finishing", False)
        works = [work for _, work in prepared]
        try:
            if not prepared:
                rendered = []
            elif defer:
                rendered = list(self.renderer.render_pending(works, hooks))
            else:
                rendered = list(self.renderer.render(works, hooks))
        except MediaStreamError as exc:
            rendered = [exc] * len(prepared)
        outcomes = iter(zip(prepared, rendered))
        for i in range(len(jobs)):
            if i in results:
                continue
            (job, work), image = next(outcomes)
            if isinstance(image, BaseException):
                results[i] = image
            elif defer:
                results[i] = Deferred(lambda job=job, work=work, pending=image: self._finish(job, work, pending.finish()))
            else:
                results[i] = self._finish(job, work, image)
        return [results[i] for i in range(len(jobs))]

    def _finish(self, job: Job, work: SceneWork, image: Any) -> Any:
        try:
            return self._store(job.request, work, image, job)
        except MediaStreamError as exc:
            return exc

    def _with_references(self, job: Job) -> SceneWork:
        """The scene's work with its control image (read from our storage, within the caps) and
        its characters' reference images (fixed on first appearance)."""
        work: SceneWork = job.step
        request: StoryboardRequested = job.request
        if work.control_key is not None and work.control_image is None:
            work = dataclasses.replace(work, control_image=self.inputs.read_image_bytes("controlImage", work.control_key))
        if self.characters is None or not work.characters:
            return work
        references = self.characters.ensure(request.project_id, work.characters, request.style_config.style, request.consistency_mode)
        return attach_references([work], references)[0]

    def _store(self, request: StoryboardRequested, work: SceneWork, image: Any, job: Job | None = None) -> ImageReady:
        key = storage_key(IMAGE_KIND, request.project_id, request.job_id, work.scene_id, request.render_version, image.extension)
        metadata = {
            "jobId": request.job_id,
            "projectId": request.project_id,
            "model": image.model,
            "renderVersion": str(request.render_version),
            "seed": str(image.seed),
        }
        stored = self.store.put(key, image.data, image.content_type, metadata)
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
            consistency_score=getattr(image, "consistency", None),
            character_scores=getattr(image, "character_scores", None),
            source_request=scene_reproduction(request, work.scene_index, work.seed),
            request_source=request_source(job.message) if job is not None else None,
            replay_of=replay_of(job.message) if job is not None else None,
            prompt_omitted=getattr(image, "prompt_omitted", None),
        )

    def step_events(self, job: Job, result: ImageReady) -> list[OutgoingMessage]:
        return [self.encoder.message(self.routes.image_ready, job.key, result, job.trace)]

    def step_failure(self, job: Job, reason: str) -> SceneFailure:
        return SceneFailure(job.step.scene_id, reason)

    def completion_events(self, job: Job) -> tuple[list[OutgoingMessage], bool]:
        request: StoryboardRequested = job.request
        if not job.results:
            reason = "; ".join(f"{f.scene_id}: {f.reason}" for f in job.failures) or "no scene was rendered"
            failed = JobFailed(request.job_id, request.project_id, reason, "RenderFailed", True, request.request_id, request.render_version)
            return [self.encoder.message(self.routes.job_failed, job.key, failed, job.trace)], False
        completed = BatchCompleted(
            request.job_id,
            request.project_id,
            request.request_id,
            request.render_version,
            total_images=len(job.results),
            images=tuple(self._summary(r) for r in job.results),
            failures=tuple(job.failures),
        )
        return [self.encoder.message(self.routes.batch_completed, job.key, completed, job.trace)], True

    def restore(self, job: Job, progress: JobProgress) -> None:
        job.results = list(progress.images)
        job.failures = list(progress.failures)
        job.next_step = min(progress.done_steps, len(job.steps))

    def progress(self, job: Job) -> JobProgress:
        request = job.request
        return JobProgress(
            job_id=request.job_id,
            project_id=request.project_id,
            request_id=request.request_id,
            done_steps=job.next_step,
            render_version=request.render_version,
            images=tuple(self._summary(r) for r in job.results),
            failures=tuple(job.failures),
        )

    @staticmethod
    def _summary(result: ImageReady | ImageSummary) -> ImageSummary:
        if isinstance(result, ImageSummary):
            return result
        return ImageSummary(result.scene_id, result.url, result.storage_key, result.sha256)
