"""What an agent needs to know of a medium (images, audio): the seam between the Kafka runtime and
the renderers. The runtime schedules, publishes and commits; a medium plans a request into
steps, renders a batch of steps (render + store, on the render thread), and says which events a
finished step and a finished job become."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from media_stream.kafka.messages import OutgoingMessage
from media_stream.runtime.scheduler import Job
from media_stream.state.records import JobProgress


@dataclass(frozen=True)
class Plan:
    request: Any
    steps: list[Any]


class Medium(Protocol):
    name: str

    def load(self) -> None: ...

    def plan(self, request: Any) -> Plan:
        """The request's steps in order (scenes of a storyboard, the parts of an audio job)."""
        ...

    def batch_key(self, job: Job) -> Hashable:
        """Head steps of different jobs with equal keys may share one render call."""
        ...

    def render(
        self, jobs: Sequence[Job], is_cancelled: Callable[[Job], bool], on_progress: Callable[[Job, float], None] | None = None
    ) -> list[Any]:
        """Render and store each job's current step; per job a result or the exception it raised.

        ``is_cancelled(job)`` may stop a render between its internal steps (RenderCancelled);
        ``on_progress(job, fraction)`` reports progress inside the current step."""
        ...

    def step_events(self, job: Job, result: Any) -> list[OutgoingMessage]:
        """What a finished step publishes (ImageReady...)."""
        ...

    def step_failure(self, job: Job, reason: str) -> Any:
        """How a step that failed for good is recorded (a SceneFailure...)."""
        ...

    def completion_events(self, job: Job) -> tuple[list[OutgoingMessage], bool]:
        """What the finished job publishes, and whether it ended completed (else failed)."""
        ...

    def restore(self, job: Job, progress: JobProgress) -> None:
        """Put back the finished steps recorded before a restart or a rebalance."""
        ...

    def progress(self, job: Job) -> JobProgress:
        """The job's finished steps, for the progress changelog."""
        ...
