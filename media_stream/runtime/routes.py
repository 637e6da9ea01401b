"""Where an agent reads and writes: topic names taken from topics.yaml by role."""

from __future__ import annotations

from dataclasses import dataclass, replace

from media_stream.kafka.messages import OutgoingMessage
from media_stream.topics.spec import TopicResolver

MEDIA_REQUEST_ROLES = {"image": "image_requests", "audio": "audio_requests"}
AUDIO_REQUEST_TYPES = {"NarrationRequested", "MusicRequested"}


@dataclass(frozen=True)
class AgentRoutes:
    requests: str
    dead_letters: str
    job_status: str
    job_failed: str
    control: str
    dedupe: str
    progress: str
    request_types: tuple[str, ...]
    image_ready: str | None = None
    batch_completed: str | None = None
    audio_ready: str | None = None
    character_registry: str | None = None
    control_dead_letters: str | None = None  # None: bad control messages are logged only
    copartitioned: tuple[str, ...] = ()  # topics written at the request's partition number

    @classmethod
    def from_topics(cls, topics: TopicResolver, medium: str = "image") -> AgentRoutes:
        requests = MEDIA_REQUEST_ROLES[medium]
        declared = topics.declared
        spec = declared.by_role(requests) if declared else None
        together = tuple(topics.name(t.role) for t in declared.topics if spec.copartition and t.copartition == spec.copartition) if declared and spec else ()
        return cls(
            requests=topics.name(requests),
            dead_letters=topics.name(f"{requests}_dlq"),
            job_status=topics.name("job_status"),
            job_failed=topics.name("job_failed"),
            control=topics.name("control"),
            dedupe=topics.name("dedupe"),
            progress=topics.name("job_progress"),
            request_types=spec.events if spec else (),
            image_ready=topics.name("image_ready"),
            batch_completed=topics.name("batch_completed"),
            audio_ready=topics.name("audio_ready"),
            character_registry=topics.name("character_registry"),
            control_dead_letters=topics.name("control_dlq"),
            copartitioned=together,
        )

    @property
    def medium(self) -> str:
        """The medium whose requests these routes read (from the request types they carry)."""
        return "audio" if set(self.request_types) & AUDIO_REQUEST_TYPES else "image"

    def roles(self) -> dict[str, str]:
        """These routes as {role: topic} (the roles of topics.yaml), for a ``TopicResolver``."""
        request_role = MEDIA_REQUEST_ROLES[self.medium]
        named = {
            request_role: self.requests,
            f"{request_role}_dlq": self.dead_letters,
            "job_status": self.job_status,
            "job_failed": self.job_failed,
            "control": self.control,
            "dedupe": self.dedupe,
            "job_progress": self.progress,
            "image_ready": self.image_ready,
            "batch_completed": self.batch_completed,
            "audio_ready": self.audio_ready,
            "character_registry": self.character_registry,
            "control_dlq": self.control_dead_letters,
        }
        return {role: topic for role, topic in named.items() if topic}

    @property
    def state_topics(self) -> tuple[str, ...]:
        return tuple(t for t in (self.dedupe, self.progress, self.character_registry) if t)

    def place(self, message: OutgoingMessage, partition: int) -> OutgoingMessage:
        """``message``, which belongs to the request read from ``partition``, at that partition
        number when its topic is co-partitioned with the requests (job status keyed by jobId
        included): one transaction then touches one partition per topic for each input partition
        (docs/decisions/0007-sharded-commits.md). Keyed messages stay with their key: a key lives
        in one request partition. Other topics (the dead letters) keep the partitioner's choice."""
        if message.partition is not None or message.topic not in self.copartitioned:
            return message
        return replace(message, partition=partition)
