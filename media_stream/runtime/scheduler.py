"""Per-key order with cross-key concurrency (the KEY mode of Confluent's Parallel Consumer).

Jobs wait in one FIFO per key (projectId). Only the head job of a key may run, one step at a
time, so a project's requests finish in offset order and its scenes in scene order. Heads of
different keys run concurrently and share a renderer batch when their steps are compatible.

A request whose outcome is known at once (a dead letter, a duplicate, a cancel that came first)
still waits in its key's FIFO as a *settled* job with no steps, so it ends in request order too,
after the project's earlier requests.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from media_stream.kafka.messages import ConsumedMessage
from media_stream.runtime.offsets import TopicPartitionKey

_arrival = itertools.count()


@dataclass(eq=False)
class Job:
    """One consumed request and its steps (the scenes of a storyboard, the chunks of audio...)."""

    key: str
    message: ConsumedMessage
    request: Any
    steps: list[Any]
    trace: str
    next_step: int = 0
    results: list[Any] = field(default_factory=list)
    failures: list[Any] = field(default_factory=list)
    attempts: int = 0
    not_before: float = 0.0
    running: bool = False
    cancel_requested: bool = False
    revoked: bool = False
    arrival: int = field(default_factory=lambda: next(_arrival))
    span: Any = None  # the job's trace spans (runtime.tracing.JobSpan), when the agent made one
    settled: Any = None  # an outcome decided on arrival (no steps), published when the job is the head
    cancel_note: str = "cancelled"  # the error its cancelled status carries

    @property
    def tp(self) -> TopicPartitionKey:
        return (self.message.topic, self.message.partition)

    @property
    def job_id(self) -> str | None:
        return None if self.request is None else self.request.job_id

    @property
    def done(self) -> bool:
        return self.next_step >= len(self.steps)

    @property
    def step(self) -> Any:
        return self.steps[self.next_step]


class KeyScheduler:
    def __init__(self) -> None:
        self._queues: dict[str, deque[Job]] = {}

    def enqueue(self, job: Job) -> None:
        self._queues.setdefault(job.key, deque()).append(job)

    def jobs(self) -> Iterator[Job]:
        for queue in self._queues.values():
            yield from queue

    def jobs_of(self, key: str) -> tuple[Job, ...]:
        return tuple(self._queues.get(key, ()))

    def find(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs() if j.job_id == job_id), None)

    def find_all(self, job_id: str) -> list[Job]:
        """Every job with this id (a replay keeps the jobId of the request it replays)."""
        return [j for j in self.jobs() if j.job_id == job_id]

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def ready(self, now: float) -> list[Job]:
        """Head jobs that may run a step now, oldest first."""
        heads = [q[0] for q in self._queues.values() if q]
        ready = [j for j in heads if not j.running and not j.done and j.not_before <= now and j.settled is None]
        return sorted(ready, key=lambda j: j.arrival)

    def finished_heads(self) -> list[Job]:
        """Head jobs with no step left (or cancelled while idle): ready to be completed."""
        return [q[0] for q in self._queues.values() if q and not q[0].running and (q[0].done or q[0].cancel_requested)]

    def take_batch(self, now: float, max_size: int, batch_key: Callable[[Job], Hashable]) -> list[Job]:
        """The oldest ready head, plus other ready heads whose step batches with it; marked running."""
        ready = [j for j in self.ready(now) if not j.cancel_requested]
        if not ready:
            return []
        first = ready[0]
        wanted = batch_key(first)
        batch = [first] + [j for j in ready[1:] if batch_key(j) == wanted][: max_size - 1]
        for job in batch:
            job.running = True
        return batch

    def remove(self, job: Job) -> None:
        """The job ended: the next job of its key becomes the head."""
        queue = self._queues.get(job.key)
        if queue and job in queue:
            queue.remove(job)
            if not queue:
                del self._queues[job.key]

    def revoke(self, tps: Iterable[TopicPartitionKey]) -> list[Job]:
        """Drop the jobs of revoked partitions; running ones are flagged so their results are discarded."""
        revoked = set(tps)
        dropped = [j for j in self.jobs() if j.tp in revoked]
        for job in dropped:
            job.revoked = True
            self.remove(job)
        return dropped

    def next_wakeup(self) -> float | None:
        """The earliest time a backed-off head becomes ready, if any."""
        waits = [q[0].not_before for q in self._queues.values() if q and not q[0].running and q[0].not_before]
        return min(waits) if waits else None
