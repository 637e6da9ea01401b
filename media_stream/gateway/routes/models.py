"""/api/v1/models: which backends the running agents loaded, on which device, dtype, memory."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from media_stream.client.agents import as_json, running_agents
from media_stream.gateway import schemas
from media_stream.gateway.auth import Principal, require_service
from media_stream.gateway.routes.images import ERRORS
from media_stream.gateway.routes.publishing import services_of

router = APIRouter()


@router.get("", response_model=schemas.ModelsOut, responses=ERRORS)
def models(request: Request, _: Principal = Depends(require_service("models:read"))) -> dict:
    """The agents' announcements (the compacted agents topic), one per running agent."""
    services = services_of(request)
    agents = running_agents(services.settings, services.bootstrap, services.client.topic("agents"))
    return {"agents": [as_json(a) for a in agents]}
