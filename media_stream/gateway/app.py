"""The gateway's FastAPI application: ``create_app(settings, bootstrap)``.

Routers live in ``media_stream/gateway/routes/``, one per resource; each declares its auth with
``media_stream.gateway.auth`` dependencies. Errors answer JSON: ``{"error": ..., "message": ...}``
(422 adds ``field``, the request field at fault, and FastAPI's ``detail`` list).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from media_stream import __version__
from media_stream.config import Settings, get_settings
from media_stream.domain.errors import MediaStreamError, RetriableError, ValidationError
from media_stream.gateway import console_page
from media_stream.gateway.auth import TokenTable
from media_stream.gateway.body_limit import BodySizeLimit
from media_stream.gateway.routes import audio, files, health, images, jobs, models, projects, styles
from media_stream.gateway.trailing_slash import TrailingSlash
from media_stream.gateway.routes import catalog as catalog_routes
from media_stream.gateway.services import GatewayServices

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    bootstrap: str | None = None,
    *,
    topics: Any = None,
    store: Any = None,
) -> FastAPI:
    """The gateway app. ``bootstrap`` overrides the configured brokers, ``topics`` the topics
    (an AgentRoutes or {role: topic}), ``store`` the object store (style previews)."""
    settings = settings or get_settings()
    services = GatewayServices(settings, bootstrap, topics=topics, store=store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        redirect_slashes=False,
        title="media-stream gateway",
        version=__version__,
        description="The original REST contract on top of the Kafka topics: every POST publishes one request event.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.tokens = TokenTable(settings.gateway.tokens)
    app.state.services = services
    app.add_middleware(BodySizeLimit, max_bytes=settings.gateway.max_body_bytes)
    app.add_middleware(TrailingSlash)
    _install_error_handlers(app)

    app.include_router(health.router)
    app.include_router(images.router, prefix="/api/v1/images", tags=["images"])
    app.include_router(audio.router, prefix="/api/v1/audio", tags=["audio"])
    app.include_router(styles.router, prefix="/api/v1/styles", tags=["styles"])
    app.include_router(models.router, prefix="/api/v1/models", tags=["models"])
    app.include_router(jobs.router, prefix="/api/v1/jobs", tags=["jobs"])
    app.include_router(catalog_routes.router, prefix="/api/v1", tags=["catalog"])
    app.include_router(projects.router, prefix="/api/v1", tags=["catalog"])
    app.include_router(files.router, prefix="/api/v1", tags=["files"])
    app.include_router(console_page.router)
    return app


def validation_response(field: str, message: str, allowed: str | None = None) -> JSONResponse:
    """422 naming the request field at fault (a domain or Avro contract check)."""
    loc = ["body", *[part for part in field.replace("]", "").replace("[", ".").split(".") if part]]
    detail = [{"loc": loc, "msg": message, "type": "value_error"}]
    body: dict[str, Any] = {"error": "validation_error", "field": field, "message": message, "detail": detail}
    if allowed:
        body["allowed"] = allowed
    return JSONResponse(status_code=422, content=body)


def _field_path(loc: Any) -> str:
    """("scenes", 0, "prompt") as "scenes[0].prompt", the domain's way of naming a field."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        content = exc.detail if isinstance(exc.detail, dict) else {"error": "http_error", "message": str(exc.detail)}
        return JSONResponse(status_code=exc.status_code, content=content, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ["body"], "msg": "invalid request"}
        field = "body" if first.get("type") == "json_invalid" else _field_path(first.get("loc", ())[1:]) or "body"
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
        return JSONResponse(
            status_code=422,
            content={"error": "validation_error", "field": field, "message": str(first.get("msg", "")), "detail": detail},
        )

    @app.exception_handler(ValidationError)
    async def domain_invalid(_request: Request, exc: ValidationError) -> JSONResponse:
        return validation_response(exc.field, exc.problem, exc.allowed)

    @app.exception_handler(RetriableError)
    async def unavailable(_request: Request, exc: RetriableError) -> JSONResponse:
        log.warning("gateway: Kafka or storage unavailable: %s", exc)
        return JSONResponse(status_code=503, content={"error": "unavailable", "message": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(MediaStreamError)
    async def failed(_request: Request, exc: MediaStreamError) -> JSONResponse:
        log.error("gateway: %s", exc)
        return JSONResponse(status_code=503, content={"error": "unavailable", "message": str(exc)}, headers={"Retry-After": "5"})
