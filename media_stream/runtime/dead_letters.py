"""What an unprocessable message becomes: a DeadLetter with its bytes and the reason, and, when
a job id can be read, a JobFailed and a failed status for that job."""

from __future__ import annotations

from media_stream.domain.outcomes import DeadLetter, Header, JobFailed, JobStatus, JobStatusChanged
from media_stream.kafka.messages import ConsumedMessage, OutgoingMessage
from media_stream.runtime.decoding import BestEffortIds
from media_stream.runtime.encoding import EventEncoder
from media_stream.runtime.routes import AgentRoutes


def dead_letter_messages(
    encoder: EventEncoder,
    routes: AgentRoutes,
    message: ConsumedMessage,
    error: Exception,
    ids: BestEffortIds,
    traceparent: str,
) -> list[OutgoingMessage]:
    reason = str(error) or type(error).__name__
    letter = DeadLetter(
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        error_class=type(error).__name__,
        error_message=reason,
        key=message.key,
        value=message.value,
        headers=tuple(Header(k, v) for k, v in message.headers),
        job_id=ids.job_id,
        project_id=ids.project_id,
    )
    out = [encoder.message(routes.dead_letters, message.key, letter, traceparent)]
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
