"""A consumed message to a validated domain request, or a PermanentError saying why not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection

from media_stream.domain.errors import PermanentError, UnexpectedEventType, UndecodableMessage, ValidationError
from media_stream.domain.records import from_record
from media_stream.domain.requests import REQUEST_TYPES
from media_stream.kafka.messages import ConsumedMessage
from media_stream.serde.codec import EventCodec


@dataclass(frozen=True)
class BestEffortIds:
    """What could be read of a message that failed: for the DLQ envelope and the JobFailed event."""

    job_id: str | None = None
    project_id: str | None = None
    request_id: str | None = None
    render_version: int = 1


def decode_request(codec: EventCodec, message: ConsumedMessage, allowed: Collection[str]) -> Any:
    if message.value is None:
        raise UndecodableMessage("message has no value (tombstone) on a requests topic")
    event = codec.decode(message.value)
    if event.record_name not in allowed:
        raise UnexpectedEventType(
            f"{event.record_name} is not carried by {message.topic} (allowed: {', '.join(sorted(allowed))})"
        )
    try:
        request = from_record(REQUEST_TYPES[event.record_name], event.value)
    except (TypeError, KeyError) as exc:
        raise UndecodableMessage(f"{event.record_name} does not fit its domain type: {exc}") from exc
    request.validate()
    key = message.key.decode("utf-8", "replace") if message.key else None
    if key != request.project_id:
        shown = repr(key[:40] + "..." if key and len(key) > 40 else key)  # a key may be up to a MiB
        raise ValidationError("key", f"message key {shown} differs from projectId {request.project_id!r}", "the projectId")
    return request


def best_effort_ids(codec: EventCodec, message: ConsumedMessage) -> BestEffortIds:
    """Ids of a failed message when its bytes decode at all; ids that are unsafe are dropped."""
    from media_stream.domain.ids import validate_id

    try:
        value = codec.decode(message.value or b"").value
    except PermanentError:
        return BestEffortIds()

    def safe(field: str) -> str | None:
        candidate = value.get(field)
        try:
            return validate_id(field, candidate) if isinstance(candidate, str) else None
        except ValidationError:
            return None

    version = value.get("renderVersion", 1)
    return BestEffortIds(safe("jobId"), safe("projectId"), safe("requestId"), version if isinstance(version, int) else 1)
