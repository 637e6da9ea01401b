"""The character registry: each project's characters, fixed on their first appearance.

A ``CharacterIdentity`` records what makes a character look the same from scene to scene and
from request to request: the seed of its reference portrait and the storage key of that
portrait. ``CharacterRegistry`` is the interface the runtime uses; ``InMemoryCharacterRegistry``
is the embedded one (tests, a single agent). The Kafka-backed one keeps the same rows in the
compacted ``media.character.registry.v1`` changelog (key ``{projectId}/{characterId}``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class CharacterIdentity:
    project_id: str
    character_id: str
    name: str
    description: str
    seed: int
    reference_key: str
    # "rendered" (a seeded portrait we rendered) or "provided" (the request's referenceImage)
    source: str = "rendered"
    created_at: datetime = field(default_factory=_now)

    @property
    def key(self) -> str:
        return identity_key(self.project_id, self.character_id)


def identity_key(project_id: str, character_id: str) -> str:
    return f"{project_id}/{character_id}"


class CharacterRegistry(Protocol):
    def get(self, project_id: str, character_id: str) -> CharacterIdentity | None:
        """The character's identity, or None before its first appearance."""
        ...

    def put(self, identity: CharacterIdentity) -> None:
        """Record (or replace) an identity."""
        ...


class InMemoryCharacterRegistry:
    """A dict, safe to share between the render thread and the agent loop."""

    def __init__(self) -> None:
        self._rows: dict[str, CharacterIdentity] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str, character_id: str) -> CharacterIdentity | None:
        with self._lock:
            return self._rows.get(identity_key(project_id, character_id))

    def put(self, identity: CharacterIdentity) -> None:
        with self._lock:
            self._rows[identity.key] = identity

    def __len__(self) -> int:
        return len(self._rows)
