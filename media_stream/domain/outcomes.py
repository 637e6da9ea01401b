"""Outcome events: what agents publish in place of the original HTTP callbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from media_stream.domain.requests import MusicRequested, NarrationRequested, StoryboardRequested


def _now() -> datetime:
    return datetime.now(timezone.utc)


class JobStatus(str, Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class OutcomeEnvelope:
    job_id: str
    project_id: str
    request_id: str
    render_version: int


@dataclass(frozen=True)
class ImageReady(OutcomeEnvelope):
    scene_id: str = ""
    scene_index: int = 0
    url: str = ""
    storage_key: str = ""
    width: int = 0
    height: int = 0
    seed: int = 0
    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    render_ms: int = 0
    sha256: str = ""
    created_at: datetime = field(default_factory=_now)
    consistency_score: float | None = None  # the mean of character_scores
    character_scores: dict[str, float] | None = None  # characterId -> score on the character's region
    source_request: StoryboardRequested | None = None  # a one-scene storyboard that renders this image again
    request_source: str | None = None  # topic/partition/offset of the request
    replay_of: str | None = None  # the request's replay-of header
    prompt_omitted: str | None = None  # the end of the prompt the text encoders did not see


@dataclass(frozen=True)
class ImageSummary:
    scene_id: str
    url: str
    storage_key: str
    sha256: str


@dataclass(frozen=True)
class SceneFailure:
    scene_id: str
    reason: str


@dataclass(frozen=True)
class BatchCompleted(OutcomeEnvelope):
    total_images: int = 0
    images: tuple[ImageSummary, ...] = ()
    failures: tuple[SceneFailure, ...] = ()
    completed_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class AudioReady(OutcomeEnvelope):
    kind: str = "narration"
    url: str = ""
    storage_key: str = ""
    duration_seconds: float = 0.0
    sample_rate: int = 0
    format: str = "wav"
    model: str = ""
    sha256: str = ""
    created_at: datetime = field(default_factory=_now)
    not_applied: tuple[str, ...] = ()
    loudness_lufs: float | None = None
    narration_request: NarrationRequested | None = None  # the request that renders this audio again
    music_request: MusicRequested | None = None
    request_source: str | None = None
    replay_of: str | None = None
    # parameter -> why it is in not_applied, or how it was approximated (e.g. pitch by a phase vocoder)
    parameter_notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobStatusChanged:
    job_id: str
    project_id: str
    status: str
    request_id: str | None = None
    progress: float = 0.0
    error: str | None = None
    render_version: int = 1
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class JobFailed:
    job_id: str
    project_id: str
    reason: str
    error_class: str
    retryable: bool
    request_id: str | None = None
    render_version: int = 1
    failed_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Header:
    key: str
    value: bytes | None = None


@dataclass(frozen=True)
class DeadLetter:
    source_topic: str
    source_partition: int
    source_offset: int
    error_class: str
    error_message: str
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[Header, ...] = ()
    job_id: str | None = None
    project_id: str | None = None
    failed_at: datetime = field(default_factory=_now)
