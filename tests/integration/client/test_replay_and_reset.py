"""Replay by offset range through the SDK's eyes, and a group reset refused while the group lives."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from media_stream.client.replay import replay
from media_stream.client.sdk import MediaStreamClient
from media_stream.config import Settings
from media_stream.domain.errors import ValidationError
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from media_stream.kafka.group_reset import GroupIsActive, active_members, reset_group_to_time
from media_stream.kafka.topic_scan import scan
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended
from tests.helpers.scripted_renderer import ScriptedRenderer, render_log

pytestmark = pytest.mark.kafka


def test_a_storyboard_replayed_by_offset_as_v2_renders_once_beside_v1(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent], tmp_path: Path) -> None:
    log = tmp_path / "renders.log"
    running = start_agent(ScriptedRenderer(log))
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        other = client.generate_image("proj-other", "not me", width=64, height=64)
        day = client.generate_storyboard("proj-rv", ["dawn", "noon", "dusk"], job_id="day", width=64, height=64)
        other.wait(60)
        assert isinstance(day.wait(60), BatchCompleted)

    original = next(m for m in scan(settings, kafka_bootstrap, routes.requests) if m.key == b"proj-rv")
    by_offset = dict(partition=original.partition, from_offset=original.offset, to_offset=original.offset)
    dry = replay(settings, routes.requests, 2, kafka_bootstrap, dry_run=True, **by_offset)
    assert (dry.selected, dict(dry.per_partition), dict(dry.per_project), dry.published) == (1, {original.partition: 1}, {"proj-rv": 1}, 0)
    everything = replay(settings, routes.requests, 2, kafka_bootstrap, dry_run=True)
    assert everything.selected == 2 and dict(everything.per_project) == {"proj-rv": 1, "proj-other": 1}
    with pytest.raises(ValidationError, match="fromOffset"):
        replay(settings, routes.requests, 2, kafka_bootstrap, from_offset=5, to_offset=1)

    assert replay(settings, routes.requests, 2, kafka_bootstrap, **by_offset).published == 1
    seen = collect(settings, routes, kafka_bootstrap, lambda s: any(isinstance(e, BatchCompleted) and e.render_version == 2 for _, e in s) and sum(isinstance(e, ImageReady) and e.render_version == 2 for _, e in s) == 3)
    v2 = [e for _, e in seen if isinstance(e, ImageReady) and e.render_version == 2]
    assert [(e.job_id, e.scene_id) for e in v2] == [("day", "s0"), ("day", "s1"), ("day", "s2")]
    replayed = [m for m in scan(settings, kafka_bootstrap, routes.requests) if m.header("replay-of")]
    assert [m.header("replay-of").decode() for m in replayed] == [f"{routes.requests}/{original.partition}/{original.offset}"]
    assert replayed[0].key == b"proj-rv"

    # v2 again (the same offset): recognised, nothing rendered; a sentinel marks the end
    assert replay(settings, routes.requests, 2, kafka_bootstrap, **by_offset).published == 1
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        client.generate_image("proj-rv", "sentinel", job_id="sentinel", width=64, height=64).wait(60)
    seen = collect(settings, routes, kafka_bootstrap, ended({"sentinel"}))
    running.stop()
    assert sum(isinstance(e, ImageReady) and e.job_id == "day" and e.render_version == 2 for _, e in seen) == 3  # not 6
    assert [tag for _, tag, _ in render_log(log)].count("dawn") == 2  # v1 and v2 only
    for scene in ("s0", "s1", "s2"):
        folder = settings.storage.root / "images" / "proj-rv" / "day" / scene
        assert sorted(p.name for p in folder.glob("*.png")) == ["1.png", "2.png"]


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return {tp.partition: tp.offset for tp in consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)}
    finally:
        consumer.close()


def test_reset_group_refuses_an_active_group_then_moves_a_stopped_one_to_a_time(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]) -> None:
    group = f"agents-{routes.requests}"
    running = start_agent(group=group)
    with MediaStreamClient(settings, kafka_bootstrap, topics=routes) as client:
        for i in range(3):
            client.generate_image(f"proj-g{i}", f"early {i}", width=64, height=64).wait(60)
        time.sleep(0.05)
        middle = datetime.now(timezone.utc)
        time.sleep(0.05)
        late = client.generate_image("proj-g0", "late", width=64, height=64)
        late.wait(60)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert active_members(admin, group)
    with pytest.raises(GroupIsActive, match="active member"):
        reset_group_to_time(settings, group, routes.requests, int(middle.timestamp() * 1000), kafka_bootstrap)
    running.stop()
    deadline = time.monotonic() + 60
    while active_members(admin, group) and time.monotonic() < deadline:
        time.sleep(0.2)

    moved = reset_group_to_time(settings, group, routes.requests, int(middle.timestamp() * 1000), kafka_bootstrap)
    late_message = next(m for m in scan(settings, kafka_bootstrap, routes.requests) if m.timestamp_ms and m.timestamp_ms >= middle.timestamp() * 1000)
    ends = {p: end for p, end in _committed(kafka_bootstrap, f"probe-{group}", routes.requests, 3).items()}  # an unrelated group: nothing
    assert all(o < 0 for o in ends.values())
    committed = _committed(kafka_bootstrap, group, routes.requests, 3)
    assert committed == moved and moved[late_message.partition] == late_message.offset
