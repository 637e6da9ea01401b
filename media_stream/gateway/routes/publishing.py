"""One POST, one request event: build the event from the body, publish it, answer 202, and
honour ``Idempotency-Key`` (same key and body: the first answer again, nothing published).

The project: ``projectId`` in the body, else the ``X-Project-Id`` header, else the job is its own
project (projectId = jobId); the answer's ``projectFrom`` says which."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from media_stream.client.sdk import new_id
from media_stream.domain.ids import validate_id
from media_stream.domain.records import from_record
from media_stream.gateway.auth import Principal
from media_stream.gateway.idempotency import MAX_KEY_CHARS, IdempotencyConflict, fingerprint
from media_stream.gateway.services import GatewayServices

IDEMPOTENCY_HEADER = "Idempotency-Key"
PROJECT_HEADER = "X-Project-Id"


def idempotency_key(
    key: str | None = Header(
        default=None,
        alias=IDEMPOTENCY_HEADER,
        max_length=MAX_KEY_CHARS,
        description="Same key and body: the first answer again, nothing published twice; another body: 409.",
    ),
) -> str | None:
    return key


def services_of(request: Request) -> GatewayServices:
    return request.app.state.services


def project_header(request: Request) -> str | None:
    """``X-Project-Id`` when given (checked as an id: a 422 naming the header otherwise)."""
    value = request.headers.get(PROJECT_HEADER)
    if value is None:
        return None
    validate_id(PROJECT_HEADER, value)
    return value


def with_project(request: Request, body: BaseModel) -> tuple[BaseModel, str]:
    """``body`` with its project filled from the header when the body has none, and where the
    project comes from: body, header, or job (filled in ``build_event``)."""
    if getattr(body, "project_id", None):
        return body, "body"
    header = project_header(request)
    if header is not None:
        return body.model_copy(update={"project_id": header}), "header"
    return body, "job"


def build_event(cls: type, body: BaseModel, drop: tuple[str, ...] = ()) -> Any:
    """The request event for ``body``: its fields plus jobId/requestId (made when unset) and
    projectId (the jobId when unset)."""
    record = {k: v for k, v in body.record().items() if k not in drop}  # type: ignore[attr-defined]
    record.setdefault("jobId", new_id("job"))
    record.setdefault("requestId", new_id("req"))
    record.setdefault("projectId", record["jobId"])
    return from_record(cls, record)


def total_images(event: Any) -> int | None:
    scenes = getattr(event, "scenes", None)
    if scenes is not None:
        return len(scenes)
    return 1 if hasattr(event, "prompt") and hasattr(event, "width") else None


def accepted(request: Request, event: Any, published: Any, project_from: str = "body") -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    body = {
        "jobId": event.job_id,
        "projectId": event.project_id,
        "projectFrom": project_from,
        "requestId": event.request_id,
        "renderVersion": event.render_version,
        "status": "queued",
        "topic": published.topic,
        "statusUrl": f"{base}{request.url.path.rstrip('/').rsplit('/', 1)[0]}/status/{event.job_id}",
        "eventsUrl": f"{base}/api/v1/jobs/{event.job_id}/events",
    }
    if published.estimated_duration_s is not None:
        body["estimatedDuration"] = round(published.estimated_duration_s, 3)
    images = total_images(event)
    if images is not None:
        body["totalImages"] = images
    return body


def publish_once(
    request: Request,
    principal: Principal,
    body: BaseModel,
    key: str | None,
    produce: Callable[[], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    """Run ``produce`` (which publishes one event) unless ``key`` already answered this body."""
    services = services_of(request)
    if key is None:
        status_code, content = produce()
        return JSONResponse(status_code=status_code, content=content)
    scope = (principal.name, request.method, request.url.path, key)
    try:
        status_code, content, replayed = services.idempotency.run(scope, fingerprint(body.model_dump(mode="json")), produce)
    except IdempotencyConflict:
        raise HTTPException(
            status_code=409,
            detail={"error": "idempotency_conflict", "message": f"the {IDEMPOTENCY_HEADER} was used before with a different body"},
        ) from None
    return JSONResponse(status_code=status_code, content=content, headers={"Idempotency-Replayed": "true" if replayed else "false"})


def publish_request(request: Request, principal: Principal, body: BaseModel, key: str | None, cls: type) -> JSONResponse:
    """The common POST: ``body`` becomes one ``cls`` event, published; 202 with its ids."""

    body, project_from = with_project(request, body)

    def produce() -> tuple[int, dict[str, Any]]:
        event = build_event(cls, body)
        published = services_of(request).publish(event)
        return 202, accepted(request, event, published, project_from)

    return publish_once(request, principal, body, key, produce)
