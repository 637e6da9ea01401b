"""What an unprocessable request becomes in an agent: its DeadLetter (framed by
``serde.dead_letters``) and, when a job id can be read, a JobFailed and a failed status for that job."""

from __future__ import annotations

from media_stream.domain.outcomes import JobFailed, JobStatus, JobStatusChanged
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.observability.tracing import child_traceparent
from media_stream.runtime.routes import AgentRoutes
from media_stream.serde.dead_letters import bounded_reason, dead_letter
from media_stream.serde.decoding import BestEffortIds
from media_stream.serde.encoding import EventEncoder


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
    reason = bounded_reason(error)
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
