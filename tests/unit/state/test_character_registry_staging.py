"""The character registry changes on the agent loop only, and only for owned partitions: the
render thread stages an identity (visible to its own later scenes at once), the loop applies it
in ``drain(owned)``; a revoked partition's staged identities never reach the table or a
transaction. On main, ``put`` wrote the table from the render thread and queued the changelog
message whatever became of the partition."""

from __future__ import annotations

from media_stream.config import Settings
from media_stream.serde.codec import EventCodec
from media_stream.state.changelog import ChangelogTable, TableSpec
from media_stream.state.character_registry import KafkaCharacterRegistry
from media_stream.state.characters import CharacterIdentity


def _identity(project: str, character: str) -> CharacterIdentity:
    return CharacterIdentity(project, character, character.title(), "", 7, f"characters/{project}/{character}/reference/1.png", "rendered")


def _registry() -> KafkaCharacterRegistry:
    return KafkaCharacterRegistry(ChangelogTable(TableSpec("characters", CharacterIdentity), EventCodec.from_settings(Settings())))


def test_an_identity_is_staged_on_the_render_thread_and_applied_by_the_loop() -> None:
    registry = _registry()
    registry.locate("proj-a", 0)
    registry.put(_identity("proj-a", "lea"))
    assert registry.get("proj-a", "lea") is not None  # the render thread's next scene sees it
    assert registry.table.get(0, _identity("proj-a", "lea").key) is None  # the table is the loop's
    [(partition, message)] = registry.drain(owned={0})
    assert partition == 0 and message.topic == "characters" and message.partition == 0
    assert registry.table.get(0, _identity("proj-a", "lea").key) is not None


def test_a_revoked_partitions_staged_identities_are_dropped_even_when_staged_later() -> None:
    registry = _registry()
    registry.locate("proj-a", 0)
    registry.locate("proj-b", 1)
    registry.put(_identity("proj-a", "lea"))
    registry.forget([0])  # partition 0 revoked while the render of proj-a went on
    registry.put(_identity("proj-a", "fox"))  # the abandoned render stages one more
    registry.put(_identity("proj-b", "owl"))
    assert [p for p, _ in registry.drain(owned={0, 1})] == [1]  # even if 0 came back meanwhile
    assert registry.table.values(0) == [] and registry.get("proj-a", "lea") is None
