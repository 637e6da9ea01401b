"""Fresh agent routes for a test: requests, control and state topics co-partitioned."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from confluent_kafka.admin import AdminClient, NewTopic

from media_stream.kafka.admin import await_leaders
from media_stream.runtime.routes import AgentRoutes

PARTITIONS = 3
COMPACT = {"cleanup.policy": "compact"}


def make_routes(unique_topic: Callable[..., str], partitions: int = PARTITIONS, medium: str = "image") -> AgentRoutes:
    """Fresh topics for one agent group: requests, control and state co-partitioned."""
    return AgentRoutes(
        requests=unique_topic("requests", partitions=partitions),
        dead_letters=unique_topic("dlq"),
        job_status=unique_topic("status", config=COMPACT),
        job_failed=unique_topic("failed"),
        control=unique_topic("control", partitions=partitions),
        control_dead_letters=unique_topic("control-dlq"),
        dedupe=unique_topic("dedupe", partitions=partitions, config=COMPACT),
        progress=unique_topic("progress", partitions=partitions, config=COMPACT),
        request_types=("ImageRequested", "StoryboardRequested") if medium == "image" else ("NarrationRequested", "MusicRequested"),
        image_ready=unique_topic("ready"),
        audio_ready=unique_topic("audio-ready") if medium == "audio" else None,
        batch_completed=unique_topic("batch"),
        character_registry=unique_topic("characters", partitions=partitions, config=COMPACT),
    )


def routes_on(bootstrap: str) -> AgentRoutes:
    """``make_routes`` on a broker of the test's own (no ``unique_topic`` fixture there)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})

    def create(prefix: str, partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = f"faults.{re.sub(r'[^a-z0-9.-]+', '-', prefix)}.{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})])[name].result(timeout=60)
        await_leaders(admin, name, partitions)
        return name

    return make_routes(create)


def outcome_topics(routes: AgentRoutes) -> list[str]:
    return [t for t in (routes.image_ready, routes.batch_completed, routes.audio_ready, routes.job_failed, routes.job_status, routes.dead_letters) if t]
