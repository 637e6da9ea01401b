"""Sharded commits: which shard gets what, order within a shard, discard everywhere, and the
placement of a request's outcomes at the request's partition number."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from media_stream.config import Settings
from media_stream.kafka.messages import OutgoingMessage
from media_stream.runtime.commit_shards import ShardedCommitter
from media_stream.runtime.routes import AgentRoutes
from media_stream.topics.spec import TopicResolver, load_topics

REQ = "media.image.requested.v1"


class RecordingCommitter:
    def __init__(self) -> None:
        self.submitted: list[tuple[list[Any], dict[tuple[str, int], int]]] = []
        self.discarded_partitions: list[set[tuple[str, int]]] = []
        self.flushed: list[float] = []
        self.failures = 0
        self.discarded = 0
        self.stale = False
        self.metadata: list[Any] = []

    def refresh(self, group_metadata: Any) -> None:
        self.metadata.append(group_metadata)
        self.stale = False

    def submit(self, messages: Sequence[Any], positions: Mapping[tuple[str, int], int], group_metadata: Any) -> None:
        self.submitted.append((list(messages), dict(positions)))
        self.metadata.append(group_metadata)

    def discard(self, partitions: Iterable[tuple[str, int]]) -> int:
        gone = set(partitions)
        self.discarded_partitions.append(gone)
        return len(gone)

    def flush(self, timeout_s: float = 120.0, group_metadata: Any = None) -> None:
        self.flushed.append(timeout_s)

    def check(self) -> None:
        pass

    def close(self, timeout_s: float = 60.0) -> None:
        pass


def _tagged(partition: int, name: str) -> tuple[tuple[str, int], OutgoingMessage]:
    return (REQ, partition), OutgoingMessage("out", name.encode(), b"v")


def _sharded(max_shards: int) -> tuple[ShardedCommitter, list[RecordingCommitter]]:
    made: list[RecordingCommitter] = []

    def new_shard(index: int) -> RecordingCommitter:
        assert index == len(made)
        made.append(RecordingCommitter())
        return made[-1]

    return ShardedCommitter(new_shard, max_shards), made


def test_each_shard_gets_only_its_partitions_messages_and_positions_in_order() -> None:
    committer, shards = _sharded(3)
    messages = [_tagged(p, f"{p}-{i}") for i in range(3) for p in range(6)]
    committer.submit(messages, {(REQ, p): 10 + p for p in range(6)}, "md")
    assert len(shards) == 3
    seen: set[int] = set()
    for shard in shards:
        [(got, positions)] = shard.submitted
        mine = {tp[1] for tp, _ in got}
        assert len(mine) == 2 and not mine & seen  # 6 partitions over 3 shards, each in one
        seen |= mine
        assert set(positions) == {(REQ, p) for p in mine}
        for p in mine:  # a partition's messages keep their order
            assert [m.key for tp, m in got if tp[1] == p] == [f"{p}-{i}".encode() for i in range(3)]
    assert seen == set(range(6))


def test_a_partition_keeps_its_shard_and_shards_are_made_only_when_needed() -> None:
    committer, shards = _sharded(4)
    committer.submit([_tagged(5, "a")], {(REQ, 5): 3}, "md")
    assert len(shards) == 1  # one partition owned: one producer
    assert shards[0].metadata == ["md"]
    committer.submit([_tagged(7, "b")], {}, "md")
    committer.submit([_tagged(5, "c")], {(REQ, 5): 4}, "md")
    assert len(shards) == 2
    assert [[m.key for _, m in msgs] for msgs, _ in shards[0].submitted] == [[b"a"], [b"c"]]
    assert [[m.key for _, m in msgs] for msgs, _ in shards[1].submitted] == [[b"b"]]


def test_past_the_cap_a_new_partition_goes_to_the_least_loaded_shard() -> None:
    committer, shards = _sharded(2)
    for p in (0, 1, 2):
        committer.submit([_tagged(p, str(p))], {}, "md")
    assert len(shards) == 2
    committer.discard([(REQ, 0), (REQ, 2)])  # shard 0 holds nothing now
    committer.submit([_tagged(9, "9")], {}, "md")
    assert shards[0].submitted[-1][0][0][0] == (REQ, 9)


def test_a_shard_waiting_for_metadata_gets_it_though_nothing_is_its() -> None:
    committer, shards = _sharded(2)
    committer.submit([_tagged(0, "a"), _tagged(1, "b")], {}, "gen-1")
    shards[1].stale = True  # its last try failed
    assert committer.stale
    committer.submit([_tagged(0, "c")], {}, "gen-2")
    assert shards[1].metadata == ["gen-1", "gen-2"] and len(shards[1].submitted) == 1
    assert not committer.stale


def test_discard_and_flush_reach_every_shard() -> None:
    committer, shards = _sharded(2)
    committer.submit([_tagged(1, "a"), _tagged(2, "b")], {}, "md")
    assert committer.discard([(REQ, 1), (REQ, 2)]) == 4
    assert all(s.discarded_partitions == [{(REQ, 1), (REQ, 2)}] for s in shards)
    committer.flush(5.0)
    assert all(len(s.flushed) == 1 and 0 < s.flushed[0] <= 5.0 for s in shards)


def test_one_shard_takes_everything_in_order() -> None:
    committer, shards = _sharded(1)
    messages = [_tagged(p, str(p)) for p in range(12)]
    committer.submit(messages, {(REQ, 0): 1}, "md")
    assert shards[0].submitted == [(messages, {(REQ, 0): 1})]
    with pytest.raises(ValueError):
        ShardedCommitter(lambda i: RecordingCommitter(), 0)


def test_outcomes_are_placed_at_the_requests_partition_and_dead_letters_are_not() -> None:
    topics = load_topics(Settings().topics_file)
    routes = AgentRoutes.from_topics(TopicResolver(topics), "image")
    requests = topics.by_role("image_requests")
    for role in ("job_status", "image_ready", "batch_completed", "job_failed", "dedupe", "job_progress"):
        assert topics.by_role(role).partitions == requests.partitions, role  # the loader holds them together
        placed = routes.place(OutgoingMessage(topics.name(role), b"job-1", b"v"), 7)
        assert placed.partition == 7, role
    letter = routes.place(OutgoingMessage(routes.dead_letters, b"p", b"v"), 7)
    assert letter.partition is None  # 3 partitions: the partitioner picks from the key
    explicit = routes.place(OutgoingMessage(routes.job_status, b"j", b"v", partition=2), 7)
    assert explicit.partition == 2  # a partition chosen already stays
