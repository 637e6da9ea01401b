"""GET /api/v1/jobs/{jobId}/events: the job's outcome events as Server-Sent Events."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.gateway.auth import Principal, require_user_or_service
from media_stream.gateway.job_stream import job_events
from media_stream.gateway.routes.images import ERRORS
from media_stream.gateway.routes.publishing import services_of
from media_stream.gateway.schemas import ErrorOut

router = APIRouter()
SLACK_MS = 5_000  # clocks of gateway, broker and agents need not agree to the millisecond


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={**ERRORS, 404: {"model": ErrorOut}, 200: {"content": {"text/event-stream": {}}, "description": "One SSE event per outcome, then `end`."}},
)
def events(
    request: Request,
    job_id: str,
    since: int | None = Query(default=None, ge=0, le=2**62, description="Look for events from this time (epoch ms); unset: from when this gateway published the job, else sse_lookback_s ago."),
    render_version: int | None = Query(default=None, alias="renderVersion", ge=1, le=1_000_000),
    _: Principal = Depends(require_user_or_service("jobs:read")),
) -> StreamingResponse:
    """Streams ImageReady, JobStatusChanged, BatchCompleted, AudioReady, JobFailed events of the
    job (``event:`` is the type, ``data:`` the event as JSON) until it has ended."""
    try:
        validate_id("jobId", job_id)
    except ValidationError:
        raise HTTPException(404, {"error": "not_found", "message": f"no job {job_id!r}"}) from None
    services = services_of(request)
    gateway = services.settings.gateway
    if since is None:
        published = services.published_at_ms(job_id)
        since = published - SLACK_MS if published is not None else int((time.time() - gateway.sse_lookback_s) * 1000)
    stream = job_events(services, job_id, since, gateway.sse_idle_timeout_s, render_version)
    return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
