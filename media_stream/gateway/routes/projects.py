"""GET /api/v1/projects/{projectId}/jobs: a project's jobs from the job-status view, latest
first (what the console lists and re-reads to find jobs other clients publish). The project list
and rerender are catalog routes (``routes/catalog.py``).

Mounted with ``prefix="/api/v1"`` beside the catalog routes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Request

from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.gateway.auth import Principal, require_user_or_service
from media_stream.gateway.routes.publishing import services_of
from media_stream.gateway.routes.status import status_record

router = APIRouter()


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get("/projects/{project_id}/jobs")
def project_jobs(request: Request, project_id: str, _: Principal = Depends(require_user_or_service("jobs:read"))) -> list[dict]:
    """The project's jobs from the job-status view (status, progress, error), latest first."""
    try:
        validate_id("projectId", project_id)
    except ValidationError:
        raise HTTPException(404, {"error": "not_found", "message": f"no project {project_id!r}"}) from None
    rows = services_of(request).project_jobs(project_id)
    return [status_record(row) | {"updatedAt": _rfc3339(row.updated_ms)} for row in rows]
