"""The client SDK: publish requests, follow a job to its end, cancel, look up, subscribe.

    with MediaStreamClient() as client:
        job = client.generate_storyboard("proj-1", ["a fox in the snow", "the fox asleep"], style="watercolor")
        for event in job.events(timeout_s=120):
            print(event)                  # ImageReady per scene, JobStatusChanged, then BatchCompleted
        # or: outcome = job.wait(timeout_s=120)   # BatchCompleted / AudioReady, or JobFailedError

Synchronous by design (one producer, short-lived readers); ``AsyncMediaStreamClient`` runs the
same calls in a thread executor. A job handle reads the outcome topics from the positions they
had just before its request was published, so none of its outcomes can be missed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from media_stream.catalog.client import CatalogClient
from media_stream.client.job_end import JobEnd, decode_outcome
from media_stream.client.listeners import ListenerCheck, warn
from media_stream.client.publisher import RequestPublisher
from media_stream.config import Settings, get_settings
from media_stream.domain import outcomes
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.records import from_record
from media_stream.domain.requests import (
    CancelRequested,
    Character,
    ImageRequested,
    MusicRequested,
    NarrationRequested,
    Scene,
    StoryboardRequested,
    StyleConfig,
)
from media_stream.kafka.follow import TopicFollower, end_positions
from media_stream.serde.codec import EventCodec
from media_stream.topics.spec import HasRoles, TopicResolver

IMAGE_OUTCOME_ROLES = ("image_ready", "batch_completed", "job_failed", "job_status")
AUDIO_OUTCOME_ROLES = ("audio_ready", "job_failed", "job_status")
ALL_OUTCOME_ROLES = ("image_ready", "batch_completed", "audio_ready", "job_failed", "job_status")


class JobFailedError(MediaStreamError):
    """The job ended failed (or cancelled); ``event`` is the JobFailed or the terminal status."""

    def __init__(self, job_id: str, reason: str, event: object | None = None) -> None:
        self.job_id = job_id
        self.reason = reason
        self.event = event
        super().__init__(f"job {job_id} failed: {reason}")


class JobCancelledError(JobFailedError):
    def __init__(self, job_id: str, reason: str, event: object | None = None) -> None:
        super().__init__(job_id, reason, event)
        self.args = (f"job {job_id} was cancelled" + (f": {reason}" if reason else ""),)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"




class JobHandle:
    """One published job: its ids, and its outcomes as they arrive."""

    def __init__(self, client: MediaStreamClient, request: Any, topic: str, traceparent: str, start: dict, outcome_topics: Sequence[str], estimated_duration_s: float | None) -> None:
        self.client = client
        self.request = request
        self.job_id: str = request.job_id
        self.project_id: str = request.project_id
        self.request_id: str = request.request_id
        self.render_version: int = request.render_version
        self.topic = topic
        self.traceparent = traceparent
        self.estimated_duration_s = estimated_duration_s
        self.is_image = isinstance(request, (ImageRequested, StoryboardRequested))
        self._start = start
        self._outcome_topics = tuple(outcome_topics)
        self.outcome: object | None = None

    def __repr__(self) -> str:
        return f"JobHandle(job_id={self.job_id!r}, project_id={self.project_id!r}, topic={self.topic!r})"

    def events(self, timeout_s: float = 300.0, on_notice: Callable[[str], None] | None = warn) -> Iterator[object]:
        """This job's outcome events until it has ended (``media_stream.client.job_end``: its
        terminal status and event, and every image that event lists); TimeoutError when
        ``timeout_s`` passes with nothing new. ``on_notice`` hears, within seconds, when no agent
        consumes the request topic (and when one comes back); the wait goes on. None: silence."""
        follower = TopicFollower(self.client.settings, self.client.bootstrap, self._outcome_topics, start=self._start)
        end = JobEnd(self.job_id, self.render_version)
        listeners = ListenerCheck(self.client.settings, self.client.bootstrap, "image" if self.is_image else "audio", self.topic) if on_notice else None
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if time.monotonic() > deadline:
                    last = f" (last status {end.status.status})" if end.status else ""
                    nobody = " (no agent is consuming the request topic)" if listeners is not None and listeners.listening is False else ""
                    raise TimeoutError(f"job {self.job_id}: no outcome for {timeout_s:g}s{last}{nobody}")
                if listeners is not None and end.status is None:
                    notice = listeners.notice()
                    if notice and on_notice:
                        on_notice(notice)
                message = follower.poll(0.2)
                event = decode_outcome(self.client.codec, message.value) if message is not None else None
                if event is None or not end.see(event):
                    continue
                deadline = time.monotonic() + timeout_s
                yield event
                if end.ended:
                    self.outcome = end.outcome
                    return
        finally:
            follower.close()

    def wait(self, timeout_s: float = 300.0, on_notice: Callable[[str], None] | None = warn) -> object:
        """The terminal outcome (BatchCompleted or AudioReady). Raises JobFailedError (with the
        JobFailed), JobCancelledError, or TimeoutError. ``on_notice``: as for ``events``."""
        for _ in self.events(timeout_s, on_notice):
            pass
        outcome = self.outcome
        if isinstance(outcome, outcomes.JobFailed):
            raise JobFailedError(self.job_id, outcome.reason, outcome)
        if isinstance(outcome, outcomes.JobStatusChanged):
            raise JobCancelledError(self.job_id, outcome.error or "", outcome)
        return outcome


class MediaStreamClient:
    """Publish requests and follow their jobs. ``topics`` overrides topics.yaml per role (a
    {role: topic} mapping, or anything with ``roles()`` such as an AgentRoutes); ``bootstrap``
    overrides the configured brokers. ``client.catalog`` is the asset catalog (assets, ratings,
    quality, forget-project)."""

    def __init__(self, settings: Settings | None = None, bootstrap: str | None = None, topics: Mapping[str, str] | HasRoles | None = None) -> None:
        self.settings = settings or get_settings()
        self.bootstrap = bootstrap
        self.codec = EventCodec.from_settings(self.settings)
        self.topics = TopicResolver.load(self.settings.topics_file, topics)
        self._publisher: RequestPublisher | None = None
        self._catalog: CatalogClient | None = None

    # -- plumbing -------------------------------------------------------------------------------
    def topic(self, role: str) -> str:
        """A topic by its role in topics.yaml (or in the override)."""
        return self.topics.name(role)

    @property
    def publisher(self) -> RequestPublisher:
        if self._publisher is None:
            self._publisher = RequestPublisher(self.settings, self.bootstrap, self.topics)
        return self._publisher

    @property
    def catalog(self) -> CatalogClient:
        """The catalog client (assets view, ratings, quality, forget-project), built on first use."""
        if self._catalog is None:
            self._catalog = CatalogClient(self.settings, self.bootstrap, self.topics.overrides)
        return self._catalog

    def submit(self, request: Any, headers: tuple[tuple[str, bytes], ...] = ()) -> JobHandle:
        """Validate and publish any request (with extra ``headers``); returns its handle."""
        request.validate()
        image = isinstance(request, (ImageRequested, StoryboardRequested))
        watched = self.topics.names(IMAGE_OUTCOME_ROLES if image else AUDIO_OUTCOME_ROLES)
        start = end_positions(self.settings, self.bootstrap, watched)  # before publishing: nothing missed
        published = self.publisher.publish(request, headers=headers)
        self.publisher.flush()
        return JobHandle(self, request, published.topic, published.traceparent, start, watched, published.estimated_duration_s)

    @staticmethod
    def _envelope(project_id: str, job_id: str | None, request_id: str | None, render_version: int) -> dict[str, Any]:
        job = job_id or new_id("job")
        return {"project_id": project_id, "job_id": job, "request_id": request_id or new_id("req"), "render_version": render_version}

    # -- requests -------------------------------------------------------------------------------
    def generate_image(
        self, project_id: str, prompt: str, *, job_id: str | None = None, request_id: str | None = None, render_version: int = 1, **fields: Any
    ) -> JobHandle:
        """One image. ``fields``: negative_prompt, style, width, height, steps, guidance, seed,
        scene_id, control_image, control_scale."""
        return self.submit(ImageRequested(**self._envelope(project_id, job_id, request_id, render_version), prompt=prompt, **fields))

    def generate_storyboard(
        self,
        project_id: str,
        scenes: Sequence[Scene | str | Mapping[str, Any]],
        *,
        style: str | StyleConfig = "default",
        characters: Sequence[Character] = (),
        consistency_mode: bool = True,
        job_id: str | None = None,
        request_id: str | None = None,
        render_version: int = 1,
        **style_fields: Any,
    ) -> JobHandle:
        """A storyboard. ``scenes``: Scene values, prompts (ids s0, s1, ...) or {sceneId, prompt}
        mappings; ``characters`` are given to every prompt-only scene; ``style_fields``:
        negative_prompt, width, height, steps, guidance, seed."""
        built = []
        for index, scene in enumerate(scenes):
            if isinstance(scene, Scene):
                built.append(scene)
            elif isinstance(scene, str):
                built.append(Scene(f"s{index}", scene, tuple(characters)))
            else:
                built.append(from_record(Scene, {"sceneId": f"s{index}", **scene}))
        config = style if isinstance(style, StyleConfig) else StyleConfig(style=style, **style_fields)
        request = StoryboardRequested(
            **self._envelope(project_id, job_id, request_id, render_version), scenes=tuple(built), style_config=config, consistency_mode=consistency_mode
        )
        return self.submit(request)

    def narrate(
        self, project_id: str, text: str, *, voice: str = "fr-FR-Denise", job_id: str | None = None, request_id: str | None = None, render_version: int = 1, **fields: Any
    ) -> JobHandle:
        """A narration; the handle's ``estimated_duration_s`` is known at once. ``fields``:
        speed, pitch, emotion, reference_audio."""
        return self.submit(NarrationRequested(**self._envelope(project_id, job_id, request_id, render_version), text=text, voice=voice, **fields))

    def compose_music(
        self, project_id: str, duration_seconds: float = 30.0, *, style: str = "ambient", job_id: str | None = None, request_id: str | None = None, render_version: int = 1, **fields: Any
    ) -> JobHandle:
        """Music. ``fields``: tempo, intensity."""
        return self.submit(MusicRequested(**self._envelope(project_id, job_id, request_id, render_version), duration_seconds=duration_seconds, style=style, **fields))

    def rerender(self, project_id: str, asset_id: str, render_version: int | None = None) -> JobHandle:
        """Publish a cataloged asset's exact request again under a new render version; returns its handle."""
        request, source = self.catalog.rerender_request(project_id, asset_id, render_version)
        return self.submit(request, headers=(("replay-of", source.encode()),) if source else ())

    def cancel(self, job_id: str, project_id: str, reason: str = "") -> str:
        """Publish a CancelRequested on the control topic; returns the topic."""
        request = CancelRequested(new_id("cancel"), job_id, project_id, reason)
        published = self.publisher.publish(request)
        self.publisher.flush()
        return published.topic

    # -- reading --------------------------------------------------------------------------------
    def status(self, job_id: str, view_path: Any = None) -> Any:
        """The job's latest StatusRow from the materialized job-status view (None if unknown)."""
        return self.lookup_status(job_id, view_path)[0]

    def lookup_status(self, job_id: str, view_path: Any = None) -> tuple[Any, float]:
        """``status``, with the lookup's milliseconds once the view has caught up (for ``media-stream status``)."""
        from pathlib import Path

        from media_stream.state.status_view import StatusView

        topic = self.topic("job_status")
        path = Path(view_path) if view_path else StatusView.default_path(self.settings, topic)
        view = StatusView(path, self.settings, topic, self.bootstrap)
        try:
            return view.query(job_id)
        finally:
            view.close()

    def subscribe(
        self,
        roles_or_topics: Iterable[str] | str | None = None,
        project: str | None = None,
        job: str | None = None,
        *,
        from_beginning: bool = False,
        timeout_s: float | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> Iterator[tuple[str, object]]:
        """(topic, outcome) pairs from now (or ``from_beginning``) on the named roles or topics
        (default: every outcome topic), only ``project``'s / ``job``'s if given. Ends when
        ``timeout_s`` passes with nothing new (None: never). ``on_idle`` runs between polls."""
        names = [roles_or_topics] if isinstance(roles_or_topics, str) else list(roles_or_topics or ALL_OUTCOME_ROLES)
        topics = []
        for name in names:
            resolved = self.topics.names([name]) or [name]  # a role, else taken as a topic name
            topics.extend(t for t in resolved if t not in topics)
        follower = TopicFollower(self.settings, self.bootstrap, topics, from_beginning=from_beginning)
        try:
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            while deadline is None or time.monotonic() < deadline:
                if on_idle is not None:
                    on_idle()
                message = follower.poll(0.2)
                event = decode_outcome(self.codec, message.value) if message is not None else None
                if event is None:
                    continue
                if (project and getattr(event, "project_id", None) != project) or (job and getattr(event, "job_id", None) != job):
                    continue
                if timeout_s is not None:
                    deadline = time.monotonic() + timeout_s
                yield message.topic, event  # type: ignore[union-attr]
        finally:
            follower.close()

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    def __enter__(self) -> MediaStreamClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncMediaStreamClient:
    """The same client for asyncio code: every call runs the sync one in a thread executor.

    ``await client.generate_image(...)`` returns the (sync) JobHandle; ``await client.wait(handle)``
    waits for it without blocking the loop."""

    def __init__(self, settings: Settings | None = None, bootstrap: str | None = None, topics: Any = None) -> None:
        self.sync = MediaStreamClient(settings, bootstrap, topics)
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="media-stream-client")

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def generate_image(self, *args: Any, **kwargs: Any) -> JobHandle:
        return await self._run(self.sync.generate_image, *args, **kwargs)

    async def generate_storyboard(self, *args: Any, **kwargs: Any) -> JobHandle:
        return await self._run(self.sync.generate_storyboard, *args, **kwargs)

    async def narrate(self, *args: Any, **kwargs: Any) -> JobHandle:
        return await self._run(self.sync.narrate, *args, **kwargs)

    async def compose_music(self, *args: Any, **kwargs: Any) -> JobHandle:
        return await self._run(self.sync.compose_music, *args, **kwargs)

    async def cancel(self, *args: Any, **kwargs: Any) -> str:
        return await self._run(self.sync.cancel, *args, **kwargs)

    async def status(self, job_id: str) -> Any:
        return await self._run(self.sync.status, job_id)

    async def assets(self, *args: Any, **kwargs: Any) -> list[Any]:
        return await self._run(self.sync.catalog.assets, *args, **kwargs)

    async def rate(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.sync.catalog.rate, *args, **kwargs)

    async def quality(self, *args: Any, **kwargs: Any) -> list[Any]:
        return await self._run(self.sync.catalog.quality, *args, **kwargs)

    async def rerender(self, *args: Any, **kwargs: Any) -> JobHandle:
        return await self._run(self.sync.rerender, *args, **kwargs)

    async def forget_project(self, project_id: str) -> Any:
        return await self._run(self.sync.catalog.forget_project, project_id)

    async def wait(self, handle: JobHandle, timeout_s: float = 300.0) -> object:
        return await self._run(handle.wait, timeout_s)

    async def close(self) -> None:
        await self._run(self.sync.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> AsyncMediaStreamClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
