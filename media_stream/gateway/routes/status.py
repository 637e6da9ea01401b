"""GET .../status/{jobId}: the job's row of the job-status view (the compacted status topic)."""

from __future__ import annotations

from fastapi import HTTPException, Request

from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.gateway.routes.publishing import services_of
from media_stream.state.status_view import StatusRow


def job_status(request: Request, job_id: str) -> dict:
    try:
        validate_id("jobId", job_id)
    except ValidationError:
        raise HTTPException(404, {"error": "not_found", "message": f"no job {job_id!r}"}) from None
    row = services_of(request).status(job_id)
    if row is None:
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
    }
