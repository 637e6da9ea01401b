"""Who may read and write which topic: the Kafka principals of the deployed components and what
each needs, by topic role (topics.yaml), consumer group and transactional-id prefix.

``render_strimzi_users`` (media_stream/topics/render.py) turns these into Strimzi ``KafkaUser``
resources with ``simple`` ACLs for the production overlay; the deploy tests compare the grants
with what the code uses (AgentRoutes, CatalogTopics, the gateway's publish and outcome roles,
the agents' and the catalog's group and transactional ids), so a new topic a component starts to
use fails a test until it is granted here.

What the ACLs grant:

- a role read: Read + Describe on the topic; a role written: Write + Describe (an idempotent
  producer needs nothing more since Kafka 3.0, KIP-679);
- the consumer group: Read (join, commit, and the offsets a transaction commits);
- readers outside a group (``kafka.consumer.groupless_consumer``: the control feed, changelog
  restores, the job stream, the status and catalog views, the agents scan) carry a unique
  ``media-stream-<purpose>-<random>`` group id and never commit: Describe on those prefixes is
  enough (librdkafka looks up their coordinator);
- transactional producers: Write + Describe on their transactional-id prefix;
- Describe on the agents' consumer groups for a client that says when no agent consumes a request
  topic (``kafka.topic_consumers``: ListGroups lists the groups it may describe, DescribeGroups
  their members): the gateway's SSE;
- DescribeConfigs on the topics whose partition count a reader asks with
  ``kafka.admin.TopicAdmin.live_topics`` before reading them to the end (the gateway's status,
  catalog and agents views).
"""

from __future__ import annotations

from dataclasses import dataclass

# The purposes of the groupless readers a deployed component runs (kafka/follow.py,
# kafka/partition_reader.py, kafka/topic_scan.py). `reset` (reset-group) and `bench-watch` are
# operator and benchmark tools, not deployed.
GROUPLESS_PURPOSES = ("follow", "restore", "scan")


def groupless_prefix(purpose: str) -> str:
    return f"media-stream-{purpose}-"


@dataclass(frozen=True)
class ComponentAccess:
    """One Kafka principal (the KafkaUser's name is its SCRAM username) and its grants."""

    user: str
    component: str  # the Deployment that authenticates as ``user``
    reads: tuple[str, ...] = ()  # topic roles
    writes: tuple[str, ...] = ()  # topic roles
    describe_configs: tuple[str, ...] = ()  # topic roles it asks TopicAdmin.live_topics about
    group: str | None = None  # the consumer group it joins
    transactional_prefix: str | None = None
    groupless: tuple[str, ...] = GROUPLESS_PURPOSES
    describes_groups: tuple[str, ...] = ()  # consumer groups whose members it looks at

    def roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.reads, *self.writes, *self.describe_configs)))


_AGENT_STATE = ("dedupe", "job_progress")  # changelogs: restored on assignment, written in the transaction
_AGENT_WRITES = ("job_status", "job_failed", "agents", *_AGENT_STATE)

COMPONENTS: tuple[ComponentAccess, ...] = (
    ComponentAccess(
        user="image-agent",
        component="image-agent",
        reads=("image_requests", "control", *_AGENT_STATE, "character_registry"),
        writes=("image_ready", "batch_completed", "image_requests_dlq", "character_registry", *_AGENT_WRITES),
        group="media-stream-image-agents",
        transactional_prefix="media-stream-image-agents-",
    ),
    ComponentAccess(
        user="audio-agent",
        component="audio-agent",
        reads=("audio_requests", "control", *_AGENT_STATE),
        writes=("audio_ready", "audio_requests_dlq", *_AGENT_WRITES),
        group="media-stream-audio-agents",
        transactional_prefix="media-stream-audio-agents-",
    ),
    ComponentAccess(
        user="gateway",
        component="gateway",
        reads=("image_ready", "batch_completed", "audio_ready", "job_failed", "job_status", "assets", "asset_ratings", "agents"),
        # requests and cancels; ratings; forget-project's tombstones on assets and ratings
        writes=("image_requests", "audio_requests", "control", "asset_ratings", "assets"),
        describe_configs=("job_status", "assets", "asset_ratings", "agents"),  # the views it reads to the end
        describes_groups=("media-stream-image-agents", "media-stream-audio-agents"),  # SSE: is an agent consuming?
    ),
    ComponentAccess(
        user="catalog",
        component="catalog",
        reads=("image_ready", "audio_ready"),
        writes=("assets", "assets_dlq"),
        group="media-stream-catalog",
        transactional_prefix="media-stream-catalog-",
        groupless=(),
    ),
)


def component(name: str) -> ComponentAccess:
    (found,) = [c for c in COMPONENTS if c.component == name]
    return found
