"""When a job has ended, decided once for every reader (the SDK's JobHandle, ``watch``, the demo,
the gateway's SSE), and the one decoder of outcome events.

The outcome topics are read in no joint order: a job's BatchCompleted can arrive before ImageReady
events still on their way on the other topic. So a job has ended when

- its terminal status (``JobStatus.terminal``) and its terminal event have arrived: the
  BatchCompleted or the AudioReady of a completed job, the JobFailed of a failed one; a cancelled
  job's terminal event is its cancelled status (no asset follows a cancel);
- and every asset that terminal event lists has been delivered: each image of the BatchCompleted
  (by scene id) as an ImageReady. ``wants_assets=False`` is for a caller that only wants the end
  (the BatchCompleted lists the assets), and ``needs_status=False`` for one that does not read the
  status topic.

Events of other jobs or other render versions are ignored (``mine``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from media_stream.domain import outcomes
from media_stream.domain.errors import MediaStreamError
from media_stream.domain.outcomes import JobStatus
from media_stream.domain.records import from_record

OUTCOME_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (outcomes.ImageReady, outcomes.BatchCompleted, outcomes.AudioReady, outcomes.JobStatusChanged, outcomes.JobFailed, outcomes.DeadLetter)
}


def decode_outcome(codec: object, value: bytes | None) -> object | None:
    """The outcome event in ``value`` (Confluent-framed Avro), or None: no value, not decodable,
    or not an outcome type."""
    if value is None:
        return None
    try:
        decoded = codec.decode(value)  # type: ignore[attr-defined]
    except MediaStreamError:
        return None
    cls = OUTCOME_TYPES.get(decoded.record_name)
    return from_record(cls, decoded.value) if cls is not None else None


def is_terminal(status: str) -> bool:
    try:
        return JobStatus(status).terminal
    except ValueError:
        return False


@dataclass
class JobEnd:
    """One job's end: feed it every event read (``see``); ``ended`` once the rule above holds."""

    job_id: str | None = None
    render_version: int | None = None
    wants_assets: bool = True
    needs_status: bool = True
    status: outcomes.JobStatusChanged | None = None
    terminal: object | None = None  # BatchCompleted, AudioReady, JobFailed, or the cancelled status
    delivered: set[str] = field(default_factory=set)  # scene ids of the ImageReady events seen

    def mine(self, event: object) -> bool:
        if self.job_id is not None and getattr(event, "job_id", None) != self.job_id:
            return False
        return self.render_version is None or getattr(event, "render_version", self.render_version) == self.render_version

    def see(self, event: object) -> bool:
        """Take one event (others' are ignored); True when it was this job's."""
        if not self.mine(event):
            return False
        if isinstance(event, outcomes.JobStatusChanged):
            if is_terminal(event.status):
                self.status = event
                if event.status == JobStatus.CANCELLED.value:
                    self.terminal = event
        elif isinstance(event, outcomes.ImageReady):
            self.delivered.add(event.scene_id)
        elif isinstance(event, (outcomes.BatchCompleted, outcomes.AudioReady, outcomes.JobFailed)):
            if not (isinstance(self.terminal, outcomes.JobStatusChanged)):  # a cancel stays the end
                self.terminal = event
        return True

    @property
    def missing(self) -> list[str]:
        """Scene ids the terminal event lists that no ImageReady delivered yet."""
        if not isinstance(self.terminal, outcomes.BatchCompleted):
            return []
        return [image.scene_id for image in self.terminal.images if image.scene_id not in self.delivered]

    @property
    def ended(self) -> bool:
        if self.terminal is None:
            return False
        if isinstance(self.terminal, outcomes.JobStatusChanged):  # cancelled
            return True
        if self.needs_status and self.status is None:
            return False
        return not (self.wants_assets and self.missing)

    @property
    def outcome(self) -> object | None:
        """The terminal event once ended (BatchCompleted, AudioReady, JobFailed or the cancelled
        JobStatusChanged), else None."""
        return self.terminal if self.ended else None

    @property
    def final_status(self) -> str | None:
        """completed, failed or cancelled once ended."""
        if not self.ended:
            return None
        if self.status is not None:
            return self.status.status
        return JobStatus.FAILED.value if isinstance(self.terminal, outcomes.JobFailed) else JobStatus.COMPLETED.value
