"""Audio as a medium: a narration or a music request is one step (the renderer chunks long text
and windows long music itself); narrations with the same voice settings share a batch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from media_stream.config import AudioSettings
from media_stream.domain.audio_work import (
    MusicWork,
    NarrationWork,
    plan_music,
    plan_narration,
)
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.ids import storage_key
from media_stream.domain.outcomes import AudioReady, JobFailed, SceneFailure
from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.kafka.messages import OutgoingMessage
from media_stream.render.audio.base import MusicRenderer, SpeechRenderer
from media_stream.runtime.lineage import replay_of, request_source
from media_stream.runtime.medium import Plan
from media_stream.runtime.routes import AgentRoutes
from media_stream.runtime.scheduler import Job
from media_stream.serde.encoding import EventEncoder
from media_stream.state.records import JobProgress
from media_stream.storage.base import ObjectStore
from media_stream.storage.inputs import InputReader

KIND = {NarrationWork: "narration", MusicWork: "music"}


class AudioMedium:
    name = "audio"

    def __init__(
        self,
        speech: SpeechRenderer,
        music: MusicRenderer,
        store: ObjectStore,
        routes: AgentRoutes,
        encoder: EventEncoder,
        settings: AudioSettings,
    ) -> None:
        self.speech = speech
        self.music = music
        self.store = store
        self.routes = routes
        self.encoder = encoder
        self.settings = settings
        self.inputs = InputReader(store)

    def load(self) -> None:
        self.speech.load()
        self.music.load()

    def plan(self, request: Any) -> Plan:
        if isinstance(request, NarrationRequested):
            return Plan(request, [plan_narration(request, self.settings.max_chunk_chars)])
        if isinstance(request, MusicRequested):
            return Plan(request, [plan_music(request)])
        raise TypeError(f"{type(request).__name__} is not an audio request")

    def batch_key(self, job: Job) -> Hashable:
        work = job.step
        if isinstance(work, NarrationWork):
            return ("narration", work.batch_key)
        return ("music", job.job_id)  # one composition per call

    def render(self, jobs: Sequence[Job], is_cancelled: Callable[[Job], bool], on_progress: Callable[[Job, float], None] | None = None) -> list[Any]:
        from media_stream.render.audio.registry import finish_audio

        try:
            if isinstance(jobs[0].step, NarrationWork):
                rendered = list(self.speech.synthesize([self._with_clip(job.step) for job in jobs]))
            else:
                rendered = [self.music.compose(job.step) for job in jobs]
        except MediaStreamError as exc:
            return [exc] * len(jobs)
        results: list[Any] = []
        for job, audio in zip(jobs, rendered):
            try:
                kind = KIND[type(job.step)]
                results.append(self._store(job.request, kind, finish_audio(audio, self.settings, kind), job))
            except MediaStreamError as exc:
                results.append(exc)
        return results

    def _with_clip(self, work: NarrationWork) -> NarrationWork:
        """A voice to clone is read from our own storage, within the byte cap."""
        if work.reference_key is None or work.reference_audio is not None:
            return work
        return dataclasses.replace(work, reference_audio=self.inputs.read_audio("referenceAudio", work.reference_key))

    def _store(self, request: Any, kind: str, encoded: Any, job: Job | None = None) -> AudioReady:
        key = storage_key(kind, request.project_id, request.job_id, "audio", request.render_version, encoded.format)
        stored = self.store.put(
            key,
            encoded.data,
            encoded.content_type,
            {"jobId": request.job_id, "projectId": request.project_id, "model": encoded.model, "renderVersion": str(request.render_version)},
        )
        return AudioReady(
            request.job_id,
            request.project_id,
            request.request_id,
            request.render_version,
            kind=kind,
            url=stored.url,
            storage_key=stored.key,
            duration_seconds=encoded.duration_s,
            sample_rate=encoded.sample_rate,
            format=encoded.format,
            model=encoded.model,
            sha256=stored.sha256,
            not_applied=tuple(encoded.not_applied),
            loudness_lufs=encoded.loudness_lufs,
            narration_request=request if isinstance(request, NarrationRequested) else None,
            music_request=request if isinstance(request, MusicRequested) else None,
            request_source=request_source(job.message) if job is not None else None,
            replay_of=replay_of(job.message) if job is not None else None,
            parameter_notes=dict(encoded.notes),
        )

    def step_events(self, job: Job, result: AudioReady) -> list[OutgoingMessage]:
        return []  # the AudioReady is the job's completion

    def step_failure(self, job: Job, reason: str) -> SceneFailure:
        return SceneFailure(KIND[type(job.step)], reason)

    def completion_events(self, job: Job) -> tuple[list[OutgoingMessage], bool]:
        request = job.request
        if not job.results:
            reason = "; ".join(f.reason for f in job.failures) or "nothing was rendered"
            failed = JobFailed(request.job_id, request.project_id, reason, "RenderFailed", True, request.request_id, request.render_version)
            return [self.encoder.message(self.routes.job_failed, job.key, failed, job.trace)], False
        return [self.encoder.message(self.routes.audio_ready, job.key, job.results[-1], job.trace)], True

    def restore(self, job: Job, progress: JobProgress) -> None:
        pass  # one step: nothing finished survives without its AudioReady

    def progress(self, job: Job) -> JobProgress:
        r = job.request
        return JobProgress(r.job_id, r.project_id, r.request_id, job.next_step, r.render_version)
