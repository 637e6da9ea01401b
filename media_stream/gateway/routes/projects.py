"""What the console lists and does per project, on top of the catalog and the job-status view:

- GET  /api/v1/projects: every project known to the catalog or the job-status view
- GET  /api/v1/projects/{projectId}/jobs: the project's jobs, latest first (the status view)
- POST /api/v1/projects/{projectId}/assets/{assetId}/rerender: the asset's request again under a
  new render version (the catalog client's rerender, with its ``replay-of`` lineage)

Mounted with ``prefix="/api/v1"`` beside the catalog routes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, HTTPException, Request

from media_stream.catalog.client import AssetNotFound
from media_stream.domain.assets import parse_asset_id
from media_stream.domain.errors import ValidationError
from media_stream.domain.ids import validate_id
from media_stream.gateway.auth import Principal, require_user_or_service
from media_stream.gateway.routes.catalog import CATALOG_LOCK
from media_stream.gateway.routes.publishing import services_of
from media_stream.gateway.routes.status import status_record

router = APIRouter()


def _not_found(message: str) -> HTTPException:
    return HTTPException(404, {"error": "not_found", "message": message})


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _project(project_id: str) -> str:
    try:
        return validate_id("projectId", project_id)
    except ValidationError:
        raise _not_found(f"no project {project_id!r}") from None


@router.get("/projects")
def list_projects(request: Request, _: Principal = Depends(require_user_or_service("assets:read"))) -> list[dict]:
    """Every project with a cataloged asset or a job status, by id, with its number of assets."""
    services = services_of(request)
    with CATALOG_LOCK:
        assets = dict(services.client.catalog.projects())
    known = set(assets) | set(services.status_projects())
    return [{"projectId": p, "assets": assets.get(p, 0)} for p in sorted(known)]


@router.get("/projects/{project_id}/jobs")
def project_jobs(request: Request, project_id: str, _: Principal = Depends(require_user_or_service("jobs:read"))) -> list[dict]:
    """The project's jobs from the job-status view (status, progress, error), latest first."""
    rows = services_of(request).project_jobs(_project(project_id))
    return [status_record(row) | {"updatedAt": _rfc3339(row.updated_ms)} for row in rows]


@router.post("/projects/{project_id}/assets/{asset_id}/rerender", status_code=202)
def rerender_asset(
    request: Request,
    project_id: str,
    asset_id: str,
    principal: Principal = Depends(require_user_or_service("assets:read")),
) -> dict:
    """Publishes the asset's exact request again under the next render version (a one-scene
    storyboard for an image); needs ``images:write`` for an image, ``audio:write`` for audio."""
    _project(project_id)
    try:
        parse_asset_id(asset_id)
    except ValidationError:
        raise _not_found(f"no asset {asset_id!r} in project {project_id!r}") from None
    services = services_of(request)
    with CATALOG_LOCK:
        try:
            entry = services.client.catalog.asset(project_id, asset_id)
        except AssetNotFound:
            raise _not_found(f"no asset {asset_id!r} in project {project_id!r}") from None
        scope = "images:write" if entry.kind == "image" else "audio:write"
        if not principal.has_scope(scope):
            raise HTTPException(403, {"error": "forbidden", "message": f"the token '{principal.name}' lacks the scope '{scope}'"})
        rerender, source = services.client.catalog.rerender_request(project_id, asset_id)
    published = services.publish(rerender, headers=(("replay-of", source.encode()),) if source else ())
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
