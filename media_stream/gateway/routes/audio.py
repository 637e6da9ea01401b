"""/api/v1/audio: narration (with its estimated duration), music, voices, status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from media_stream.domain.requests import MusicRequested, NarrationRequested
from media_stream.domain.voices import catalog_listing
from media_stream.gateway import schemas
from media_stream.gateway.auth import Principal, require_user_or_service
from media_stream.gateway.routes.images import ERRORS, POST_ERRORS
from media_stream.gateway.routes.publishing import idempotency_key, publish_request
from media_stream.gateway.routes.status import job_status

router = APIRouter()


@router.post("/narration", status_code=202, response_model=schemas.JobAccepted, responses=POST_ERRORS)
def narration(
    request: Request,
    body: schemas.Narration,
    principal: Principal = Depends(require_user_or_service("audio:write")),
    key: str | None = Depends(idempotency_key),
) -> JSONResponse:
    """Publishes one NarrationRequested; answers its jobId and estimatedDuration (seconds)."""
    return publish_request(request, principal, body, key, NarrationRequested)


@router.post("/music", status_code=202, response_model=schemas.JobAccepted, responses=POST_ERRORS)
def music(
    request: Request,
    body: schemas.Music,
    principal: Principal = Depends(require_user_or_service("audio:write")),
    key: str | None = Depends(idempotency_key),
) -> JSONResponse:
    """Publishes one MusicRequested."""
    return publish_request(request, principal, body, key, MusicRequested)


@router.get("/voices", response_model=list[schemas.VoiceOut], responses=ERRORS)
def voices(_: Principal = Depends(require_user_or_service("audio:read"))) -> list[dict]:
    """The voices a narration may name, and per backend what speaks each and whether it is
    distinct (with every catalog model installed; an agent lacking one says so in notApplied)."""
    return catalog_listing()


@router.get("/status/{job_id}", response_model=schemas.JobStatus, responses={**ERRORS, 404: {"model": schemas.ErrorOut}})
def status(request: Request, job_id: str, _: Principal = Depends(require_user_or_service("audio:read"))) -> dict:
    """The job's latest status from the job-status view."""
    return job_status(request, job_id)
