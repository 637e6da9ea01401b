"""The catalog and quality feedback over HTTP (media_stream/catalog):

- GET  /api/v1/projects/{projectId}/assets[?version=N]: the project's assets with their lineage
- POST /api/v1/projects/{projectId}/assets/{assetId}/rating: rate an asset 1..5 (AssetRated)
- GET  /api/v1/quality[?project=P]: ratings against the > 4/5 target, consistency against > 90%
- DELETE /api/v1/projects/{projectId}: forget the project's catalog, ratings and files (service tokens)
- GET  /api/v1/projects: every project in the catalog or the job-status view (the console's list)
- POST /api/v1/projects/{projectId}/assets/{assetId}/rerender: the asset's request again under
  the next render version (the catalog client's rerender, with its ``replay-of`` lineage)

Mounted with ``app.include_router(catalog.router, prefix="/api/v1", tags=["catalog"])``. A user's
rating is by the token's name; a service token may rate on behalf of ``raterId``. Rater ids are
published only as keyed hashes.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from media_stream.catalog.client import AssetNotFound
from media_stream.domain.assets import MAX_COMMENT_CHARS, parse_asset_id
from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.domain.records import to_record
from media_stream.gateway.auth import Principal, require_service, require_user_or_service
from media_stream.serde.json_values import json_value, rfc3339

router = APIRouter()
_LOCK = threading.Lock()  # one SQLite view per app, one caller at a time


class Rating(BaseModel):
    rating: int = Field(ge=1, le=5, description="1..5.")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)
    raterId: str | None = Field(default=None, max_length=256, description="Only a service token may rate on behalf of someone.")


def _catalog(request: Request) -> Any:
    return request.app.state.services.client.catalog


def _services(request: Request) -> Any:
    return request.app.state.services


def _not_found(message: str) -> HTTPException:
    return HTTPException(404, {"error": "not_found", "message": message})


@router.get("/projects/{project_id}/assets")
def list_assets(
    request: Request,
    project_id: str,
    version: int | None = Query(default=None, ge=1, description="Only this render version."),
    _: Principal = Depends(require_user_or_service("assets:read")),
) -> list[dict]:
    """The project's assets (latest entry per asset and render version), with their lineage."""
    try:
        validate_id("projectId", project_id)
    except ValidationError:
        raise _not_found(f"no project {project_id!r}") from None
    with _LOCK:
        return [json_value(to_record(e)) for e in _catalog(request).assets(project_id, version)]


@router.post("/projects/{project_id}/assets/{asset_id}/rating", status_code=202)
def rate_asset(
    request: Request,
    project_id: str,
    asset_id: str,
    body: Rating,
    principal: Principal = Depends(require_user_or_service("assets:rate")),
) -> dict:
    """Publishes one AssetRated; a later rating by the same rater replaces it."""
    try:
        validate_id("projectId", project_id)
        parse_asset_id(asset_id)
    except ValidationError:
        raise _not_found(f"no asset {asset_id!r} in project {project_id!r}") from None
    if body.raterId and principal.kind != "service":
        raise HTTPException(403, {"error": "forbidden", "message": "only a service token may rate on behalf of raterId"})
    rater = body.raterId or principal.name
    catalog = _catalog(request)
    with _LOCK:
        try:
            catalog.asset(project_id, asset_id)
        except AssetNotFound:
            raise _not_found(f"no asset {asset_id!r} in project {project_id!r}") from None
        event = catalog.rate(project_id, asset_id, body.rating, rater, body.comment)
    return {"projectId": event.project_id, "assetId": event.asset_id, "rating": event.rating, "ratedAt": rfc3339(event.rated_at)}


@router.get("/quality")
def quality(
    request: Request,
    project: str | None = Query(default=None, description="Consistency of this project only."),
    _: Principal = Depends(require_user_or_service("quality:read")),
) -> dict:
    """Ratings (mean, count, share >= 4; current day and week windows and all time) per style,
    backend, model and render version against the > 4/5 target; image consistency against > 90%."""
    catalog = _catalog(request)
    with _LOCK:
        lines = catalog.quality()
        rollup = catalog.consistency(project)
    return {"quality": [q.as_dict() for q in lines], "consistency": [c.as_dict() for c in rollup]}


@router.delete("/projects/{project_id}")
def forget_project(
    request: Request,
    project_id: str,
    _: Principal = Depends(require_service("projects:delete")),
) -> dict:
    """Tombstones for the project's catalog entries and ratings, then its stored files deleted."""
    try:
        validate_id("projectId", project_id)
    except ValidationError:
        raise _not_found(f"no project {project_id!r}") from None
    with _LOCK:
        report = _catalog(request).forget_project(project_id)
    return {"projectId": report.project_id, "assets": report.assets, "ratings": report.ratings, "files": report.files}


@router.get("/projects")
def list_projects(request: Request, _: Principal = Depends(require_user_or_service("assets:read"))) -> list[dict]:
    """Every project with a cataloged asset or a job status, by id, with its number of assets."""
    with _LOCK:
        assets = dict(_catalog(request).projects())
    known = set(assets) | set(_services(request).status_projects())
    return [{"projectId": p, "assets": assets.get(p, 0)} for p in sorted(known)]


@router.post("/projects/{project_id}/assets/{asset_id}/rerender", status_code=202)
def rerender_asset(
    request: Request,
    project_id: str,
    asset_id: str,
    principal: Principal = Depends(require_user_or_service("assets:read")),
) -> dict:
    """Publishes the asset's exact request again under the next render version (a one-scene
    storyboard for an image); needs ``images:write`` for an image, ``audio:write`` for audio."""
    try:
        validate_id("projectId", project_id)
        parse_asset_id(asset_id)
    except ValidationError:
        raise _not_found(f"no asset {asset_id!r} in project {project_id!r}") from None
    catalog = _catalog(request)
    with _LOCK:
        try:
            entry = catalog.asset(project_id, asset_id)
        except AssetNotFound:
            raise _not_found(f"no asset {asset_id!r} in project {project_id!r}") from None
        scope = "images:write" if entry.kind == "image" else "audio:write"
        if not principal.has_scope(scope):
            raise HTTPException(403, {"error": "forbidden", "message": f"the token '{principal.name}' lacks the scope '{scope}'"})
        rerender, source = catalog.rerender_request(project_id, asset_id)
    published = _services(request).publish(rerender, headers=(("replay-of", source.encode()),) if source else ())
    base = str(request.base_url).rstrip("/")
    return {
        "jobId": rerender.job_id,
        "projectId": rerender.project_id,
        "requestId": rerender.request_id,
        "renderVersion": rerender.render_version,
        "assetId": asset_id,
        "status": "queued",
        "topic": published.topic,
        "eventsUrl": f"{base}/api/v1/jobs/{rerender.job_id}/events?renderVersion={rerender.render_version}",
    }
