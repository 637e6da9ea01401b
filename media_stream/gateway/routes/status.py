"""GET .../status/{jobId}: the job's row of the job-status view (the compacted status topic); a job
this replica published that no agent has reported on yet answers ``queued``."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import HTTPException, Request

from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.gateway.routes.publishing import services_of
from media_stream.state.status_view import StatusRow
from media_stream.serde.json_values import rfc3339


def job_status(request: Request, job_id: str) -> dict:
    try:
        validate_id("jobId", job_id)
    except ValidationError:
        raise HTTPException(404, {"error": "not_found", "message": f"no job {job_id!r}"}) from None
    services = services_of(request)
    row = services.status(job_id)
    if row is None:
        published = services.published_job(job_id)
        if published is not None:
            return {
                "jobId": published.job_id,
                "projectId": published.project_id,
                "requestId": published.request_id,
                "status": "queued",
                "progress": 0.0,
                "error": None,
                "renderVersion": published.render_version,
                "updatedAtMs": published.sent_ms,
                "updatedAt": rfc3339_ms(published.sent_ms),
            }
        raise HTTPException(404, {"error": "not_found", "message": f"no status for job {job_id!r} (not started yet, or unknown)"})
    return status_record(row)


def status_record(row: StatusRow) -> dict:
    """A row of the job-status view as the status routes answer it."""
    return {
        "jobId": row.job_id,
        "projectId": row.project_id,
        "requestId": row.request_id,
        "status": row.status,
        "progress": row.progress,
        "error": row.error,
        "renderVersion": row.render_version,
        "updatedAtMs": row.updated_ms,
        "updatedAt": rfc3339_ms(row.updated_ms),
    }


def rfc3339_ms(epoch_ms: int) -> str:
    return rfc3339(datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc))
