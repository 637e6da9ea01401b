"""Which agents run and what they loaded: the compacted ``agents`` topic read to its end,
latest announcement per agent id, tombstones removed (``/api/v1/models``, ``media-stream models``)."""

from __future__ import annotations

from typing import Any

from media_stream.config import Settings
from media_stream.domain.agents import AgentAnnounced
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.records import from_record, to_record
from media_stream.kafka.admin import TopicAdmin
from media_stream.kafka.partition_reader import read_to_end
from media_stream.serde.codec import EventCodec


def running_agents(settings: Settings, bootstrap: str | None, topic: str, timeout_s: float = 30.0) -> list[AgentAnnounced]:
    """The latest AgentAnnounced of every agent that has not withdrawn, by agent id."""
    live = TopicAdmin(settings, bootstrap).live_topics([topic])
    if topic not in live:
        raise MediaStreamError(f"agents topic {topic} does not exist (run `media-stream topics apply`)")
    codec = EventCodec.from_settings(settings)
    latest: dict[bytes, AgentAnnounced | None] = {}
    read = read_to_end(settings, bootstrap, [(topic, p) for p in range(live[topic].partitions)], timeout_s)
    for messages in read.values():
        for message in messages:
            if message.key is None:
                continue
            if message.value is None:
                latest[message.key] = None
                continue
            try:
                latest[message.key] = from_record(AgentAnnounced, codec.decode(message.value).value)
            except (MediaStreamError, TypeError, KeyError):
                continue
    return sorted((a for a in latest.values() if a is not None), key=lambda a: a.agent_id)


def as_json(agent: AgentAnnounced) -> dict[str, Any]:
    """camelCase JSON of an announcement (announcedAt as epoch ms)."""
    record = to_record(agent)
    at = record.pop("announcedAt")
    record["announcedAtMs"] = int(at.timestamp() * 1000)
    return record
