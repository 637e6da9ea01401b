"""What an unprocessable message becomes: a DeadLetter with its bytes and the reason, and, when
a job id can be read, a JobFailed and a failed status for that job."""

from __future__ import annotations

from media_stream.domain.outcomes import DeadLetter, Header, JobFailed, JobStatus, JobStatusChanged
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.runtime.decoding import BestEffortIds
from media_stream.runtime.encoding import EventEncoder
from media_stream.runtime.routes import AgentRoutes
from media_stream.runtime.tracing import child_traceparent

# Every DeadLetter must be publishable, whatever arrived: our producers keep librdkafka's
# default message.max.bytes (1,000,000), so the envelope of an oversized message keeps a prefix
# of its key, value and headers and says so in its errorMessage. Budgets, in bytes:
MAX_DEAD_LETTER_BYTES = 900_000  # key + value + headers of one outgoing message, all told
MAX_KEPT_VALUE_BYTES = 700_000
MAX_KEPT_KEY_BYTES = 16 * 1024  # the key travels twice: as the message key and in the envelope
MAX_KEPT_HEADER_BYTES = 64 * 1024
MAX_REASON_CHARS = 4000  # at most 16 KB of UTF-8


def _prefix(data: bytes | None, limit: int) -> tuple[bytes | None, bool]:
    if data is None or len(data) <= limit:
        return data, False
    return data[:limit], True


def _kept_headers(headers: tuple[tuple[str, bytes | None], ...]) -> tuple[tuple[Header, ...], bool]:
    kept: list[Header] = []
    used = 0
    for key, value in headers:
        size = len(key.encode("utf-8", "replace")) + len(value or b"")
        if used + size > MAX_KEPT_HEADER_BYTES:
            return tuple(kept), True
        kept.append(Header(key, value))
        used += size
    return tuple(kept), False


def _bounded_reason(error: Exception) -> str:
    reason = str(error) or type(error).__name__
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS] + f"... [{len(reason) - MAX_REASON_CHARS} more characters]"
    return reason


def dead_letter(message: ConsumedMessage, error: Exception, ids: BestEffortIds | None = None) -> DeadLetter:
    """The DeadLetter of ``message``: where it came from, its bytes (a prefix when oversized, which
    errorMessage then says) and the reason; the catalog processor publishes it alone."""
    ids = ids or BestEffortIds()
    reason = _bounded_reason(error)
    key, key_cut = _prefix(message.key, MAX_KEPT_KEY_BYTES)
    value, value_cut = _prefix(message.value, MAX_KEPT_VALUE_BYTES)
    headers, headers_cut = _kept_headers(message.headers)
    cuts = [
        f"{what} truncated to its first {len(kept or b'')} of {len(original or b'')} bytes"
        for what, cut, kept, original in (("key", key_cut, key, message.key), ("value", value_cut, value, message.value))
        if cut
    ]
    if headers_cut:
        cuts.append(f"headers truncated to the first {len(headers)} of {len(message.headers)}")
    return DeadLetter(
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        error_class=type(error).__name__,
        error_message=f"{reason} [{'; '.join(cuts)}]" if cuts else reason,
        key=key,
        value=value,
        headers=headers,
        job_id=ids.job_id,
        project_id=ids.project_id,
    )


def dead_letter_messages(
    encoder: EventEncoder,
    routes: AgentRoutes,
    message: ConsumedMessage,
    error: Exception,
    ids: BestEffortIds,
    traceparent: str,
) -> list[OutgoingMessage]:
    """An agent's messages for an unprocessable request: the DeadLetter and, when a job id can be
    read, its JobFailed and failed status."""
    letter = dead_letter(message, error, ids)
    reason = _bounded_reason(error)
    out = [encoder.message(routes.dead_letters, letter.key, letter, traceparent)]
    if ids.job_id and ids.project_id:
        failed = JobFailed(
            job_id=ids.job_id,
            project_id=ids.project_id,
            request_id=ids.request_id,
            render_version=ids.render_version,
            reason=reason,
            error_class=type(error).__name__,
            retryable=getattr(error, "retryable", False),
        )
        status = JobStatusChanged(
            job_id=ids.job_id,
            project_id=ids.project_id,
            request_id=ids.request_id,
            status=JobStatus.FAILED.value,
            error=reason,
            render_version=ids.render_version,
        )
        out.append(encoder.message(routes.job_failed, ids.project_id, failed, traceparent))
        out.append(encoder.message(routes.job_status, ids.job_id, status, traceparent))
    return out


def control_dead_letter_message(encoder: EventEncoder, topic: str, message: ConsumedMessage, error: Exception, ids: BestEffortIds) -> OutgoingMessage:
    """The DeadLetter of a control message that is not a valid cancel (no job is failed for it:
    a bad cancel leaves its job running), under the message's trace when it carried one."""
    letter = dead_letter(message, error, ids)
    return encoder.message(topic, letter.key, letter, child_traceparent(message.header("traceparent")))
