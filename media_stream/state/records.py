"""The values kept in the agents' state changelogs (compacted, co-partitioned with the requests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from media_stream.domain.outcomes import ImageSummary, SceneFailure


def _now() -> datetime:
    return datetime.now(timezone.utc)


def handled_key(project_id: str, request_id: str, render_version: int) -> str:
    """One dedupe row per request and render version: a replay with a new version renders again,
    the same version again renders nothing."""
    return f"{project_id}/{request_id}/v{render_version}"


def progress_key(project_id: str, job_id: str, render_version: int) -> str:
    return f"{project_id}/{job_id}/v{render_version}"


@dataclass(frozen=True)
class RequestHandled:
    """A request that reached its terminal outcome (the dedupe table)."""

    request_id: str
    job_id: str
    project_id: str
    outcome: str
    render_version: int = 1
    handled_at: datetime = field(default_factory=_now)

    @property
    def key(self) -> str:
        return handled_key(self.project_id, self.request_id, self.render_version)


@dataclass(frozen=True)
class JobProgress:
    """The finished steps of a running job (the progress table)."""

    job_id: str
    project_id: str
    request_id: str
    done_steps: int
    render_version: int = 1
    images: tuple[ImageSummary, ...] = ()
    failures: tuple[SceneFailure, ...] = ()
    updated_at: datetime = field(default_factory=_now)

    @property
    def key(self) -> str:
        return progress_key(self.project_id, self.job_id, self.render_version)
