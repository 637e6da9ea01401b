"""What a running agent announces it has loaded (the AgentAnnounced event)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LoadedBackend:
    role: str  # image | speech | music
    backend: str
    model: str
    device: str
    dtype: str
    memory_bytes: int | None = None


@dataclass(frozen=True)
class AgentAnnounced:
    agent_id: str
    medium: str
    host: str
    version: str
    backends: tuple[LoadedBackend, ...] = ()
    announced_at: datetime = field(default_factory=_now)
