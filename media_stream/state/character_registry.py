"""The character registry kept in the compacted ``media.character.registry.v1`` changelog.

Rows live in a ChangelogTable partitioned like the requests: a project's characters sit in the
partition of the project's requests, restored with them on assignment. ``put`` is called on the
render thread (a first appearance renders a portrait there) and only *stages* the identity: the
render thread sees it at once (``get``), but the table changes on the agent loop alone, in
``drain(owned)``, which applies the staged identities of the partitions the agent still owns and
returns their changelog messages for the next transaction (ahead of the ImageReady that used
them). ``forget(partitions)`` (a revoke, a loss) drops what was staged for those partitions, also
what a render still running for them stages later.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable

from media_stream.kafka.messages import OutgoingMessage
from media_stream.state.changelog import ChangelogTable
from media_stream.state.characters import CharacterIdentity, identity_key


class KafkaCharacterRegistry:
    def __init__(self, table: ChangelogTable[CharacterIdentity]) -> None:
        self.table = table
        self._partition_of: dict[str, int] = {}
        self._staged: list[tuple[int, int, CharacterIdentity]] = []  # (partition, its era, identity)
        self._era: dict[int, int] = {}  # bumped when a partition is forgotten: older stagings are void
        self._lock = threading.Lock()

    def locate(self, project_id: str, partition: int) -> None:
        """The agent saw a request of ``project_id`` on ``partition`` (its changelog partition too)."""
        with self._lock:
            self._partition_of[project_id] = partition

    def get(self, project_id: str, character_id: str) -> CharacterIdentity | None:
        key = identity_key(project_id, character_id)
        with self._lock:
            partition = self._partition_of.get(project_id)
            if partition is None:
                return None
            staged = next((i for p, era, i in reversed(self._staged) if p == partition and era == self._era.get(p, 0) and i.key == key), None)
            return staged or self.table.get(partition, key)

    def put(self, identity: CharacterIdentity) -> None:
        """Stage a new identity (render thread); the loop applies it in ``drain``."""
        with self._lock:
            partition = self._partition_of.get(identity.project_id)
            if partition is not None:  # else its partition was revoked meanwhile: nothing to keep
                self._staged.append((partition, self._era.get(partition, 0), identity))

    def drain(self, owned: Collection[int]) -> list[tuple[int, OutgoingMessage]]:
        """On the loop: apply the staged identities of owned partitions to the table; their
        (partition, changelog message) pairs, in staging order. The others are dropped."""
        with self._lock:
            staged, self._staged = self._staged, []
            current = dict(self._era)
        out = []
        for partition, era, identity in staged:
            if partition in owned and era == current.get(partition, 0):
                out.append((partition, self.table.put(partition, identity.key, identity)))
        return out

    def forget(self, partitions: Iterable[int]) -> None:
        """The agent no longer owns ``partitions``: their staged identities are void."""
        gone = set(partitions)
        with self._lock:
            for partition in gone:
                self._era[partition] = self._era.get(partition, 0) + 1
            self._staged = [s for s in self._staged if s[0] not in gone]
            self._partition_of = {k: p for k, p in self._partition_of.items() if p not in gone}
