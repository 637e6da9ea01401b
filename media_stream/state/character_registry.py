"""The character registry kept in the compacted ``media.character.registry.v1`` changelog.

Rows live in a ChangelogTable partitioned like the requests: a project's characters sit in the
partition of the project's requests, restored with them on assignment. ``put`` is called on the
render thread (a first appearance renders a portrait there); it changes the row at once and
queues the changelog message, which the agent loop hands to its next transaction, ahead of the
ImageReady that used it.
"""

from __future__ import annotations

import queue
import threading

from media_stream.kafka.messages import OutgoingMessage
from media_stream.state.changelog import ChangelogTable
from media_stream.state.characters import CharacterIdentity, identity_key


class KafkaCharacterRegistry:
    def __init__(self, table: ChangelogTable[CharacterIdentity]) -> None:
        self.table = table
        self._partition_of: dict[str, int] = {}
        self._outbox: queue.Queue[OutgoingMessage] = queue.Queue()
        self._lock = threading.Lock()

    def locate(self, project_id: str, partition: int) -> None:
        """The agent saw a request of ``project_id`` on ``partition`` (its changelog partition too)."""
        with self._lock:
            self._partition_of[project_id] = partition

    def get(self, project_id: str, character_id: str) -> CharacterIdentity | None:
        with self._lock:
            partition = self._partition_of.get(project_id)
            return None if partition is None else self.table.get(partition, identity_key(project_id, character_id))

    def put(self, identity: CharacterIdentity) -> None:
        with self._lock:
            partition = self._partition_of[identity.project_id]
            self._outbox.put(self.table.put(partition, identity.key, identity))

    def drain(self) -> list[OutgoingMessage]:
        out = []
        try:
            while True:
                out.append(self._outbox.get_nowait())
        except queue.Empty:
            return out
