"""/api/v1/images: generate one image, a storyboard (batch-generate), status, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from media_stream.client.sdk import new_id
from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.domain.requests import CancelRequested, ImageRequested, StoryboardRequested
from media_stream.gateway import schemas
from media_stream.gateway.auth import Principal, require_service, require_user_or_service
from media_stream.gateway.routes.publishing import idempotency_key, project_header, publish_once, publish_request, services_of
from media_stream.gateway.routes.status import job_status

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.ErrorOut, "description": "No or invalid bearer token."},
    403: {"model": schemas.ErrorOut, "description": "Wrong token kind or missing scope."},
}
POST_ERRORS = {**ERRORS, 409: {"model": schemas.ErrorOut, "description": "Idempotency-Key reused with another body."}, 413: {"model": schemas.ErrorOut}}


@router.post("/generate", status_code=202, response_model=schemas.JobAccepted, responses=POST_ERRORS)
def generate(
    request: Request,
    body: schemas.GenerateImage,
    principal: Principal = Depends(require_user_or_service("images:write")),
    key: str | None = Depends(idempotency_key),
) -> JSONResponse:
    """One image: publishes one ImageRequested."""
    return publish_request(request, principal, body, key, ImageRequested)


@router.post("/batch-generate", status_code=202, response_model=schemas.JobAccepted, responses=POST_ERRORS)
def batch_generate(
    request: Request,
    body: schemas.BatchGenerate,
    principal: Principal = Depends(require_user_or_service("images:write")),
    key: str | None = Depends(idempotency_key),
) -> JSONResponse:
    """A storyboard: publishes one StoryboardRequested (scenes rendered in order)."""
    return publish_request(request, principal, body, key, StoryboardRequested)


@router.get("/status/{job_id}", response_model=schemas.JobStatus, responses={**ERRORS, 404: {"model": schemas.ErrorOut}})
def status(request: Request, job_id: str, _: Principal = Depends(require_user_or_service("images:read"))) -> dict:
    """The job's latest status from the job-status view."""
    return job_status(request, job_id)


@router.post("/cancel/{job_id}", status_code=202, response_model=schemas.CancelAccepted, responses={**POST_ERRORS, 404: {"model": schemas.ErrorOut}})
def cancel(
    request: Request,
    job_id: str,
    body: schemas.Cancel | None = Body(default=None),
    principal: Principal = Depends(require_service("images:write")),
    key: str | None = Depends(idempotency_key),
) -> JSONResponse:
    """Publishes one CancelRequested on the control topic (service tokens only). The project: the
    body's projectId, else X-Project-Id, else the job this gateway published, else the status view."""
    body = body or schemas.Cancel()
    services = services_of(request)

    def produce() -> tuple[int, dict[str, Any]]:
        validate_id("jobId", job_id)
        project_id = body.project_id or project_header(request)
        if project_id is None:
            published = services.published_job(job_id)
            row = services.status(job_id) if published is None else published
            if row is None:
                raise HTTPException(404, {"error": "not_found", "message": f"no status for job {job_id!r}: give projectId"})
            project_id = row.project_id
        event = CancelRequested(new_id("cancel"), job_id, project_id, body.reason)
        published = services.publish(event)
        return 202, {"jobId": job_id, "projectId": project_id, "status": "cancel_requested", "topic": published.topic}

    try:
        return publish_once(request, principal, body, key, produce)
    except ValidationError as exc:
        if exc.field == "jobId":  # a path parameter, not a body field
            raise HTTPException(404, {"error": "not_found", "message": f"no job {job_id!r}"}) from None
        raise
