"""/api/v1/styles: the image styles, one style, and its preview image (PNG).

A preview rendered by the configured image backend (``media-stream styles --previews``, cached in
storage) is served when it exists; otherwise the gateway renders the cheap ``preview`` backend's
once (CPU, no weights) and caches that in storage too.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from media_stream import __version__
from media_stream.domain.styles import IMAGE_STYLES, ImageStyle
from media_stream.gateway import schemas
from media_stream.gateway.auth import Principal, require_user_or_service
from media_stream.gateway.routes.images import ERRORS
from media_stream.gateway.routes.publishing import services_of
from media_stream.render.image.style_previews import StylePreviews

router = APIRouter()
NOT_FOUND = {**ERRORS, 404: {"model": schemas.ErrorOut}}
_render_lock = threading.Lock()


def _style(style_id: str) -> ImageStyle:
    style = IMAGE_STYLES.get(style_id)
    if style is None:
        raise HTTPException(404, {"error": "not_found", "message": f"no style {style_id!r} (styles: {', '.join(sorted(IMAGE_STYLES))})"})
    return style


def _out(request: Request, style: ImageStyle) -> dict:
    return {
        "id": style.name,
        "name": style.label,
        "styleId": style.name,
        "label": style.label,
        "description": style.description,
        "category": style.category,
        "isPremium": style.is_premium,
        "promptTemplate": style.prompt_template,
        "negativePrompt": style.negative_prompt,
        "defaultSteps": style.default_steps,
        "defaultGuidance": style.default_guidance,
        "previewUrl": str(request.url_for("style_preview", style_id=style.name)),
    }


@router.get("", response_model=list[schemas.StyleOut], responses=ERRORS)
def list_styles(request: Request, _: Principal = Depends(require_user_or_service("images:read"))) -> list[dict]:
    """Every image style a request may name."""
    return [_out(request, style) for style in IMAGE_STYLES.values()]


@router.get("/{style_id}", response_model=schemas.StyleOut, responses=NOT_FOUND)
def get_style(request: Request, style_id: str, _: Principal = Depends(require_user_or_service("images:read"))) -> dict:
    return _out(request, _style(style_id))


@router.get(
    "/{style_id}/preview",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"image/png": {}}, "description": "The style's preview image."}},
    name="style_preview",
)
def style_preview(request: Request, style_id: str, _: Principal = Depends(require_user_or_service("images:read"))) -> Response:
    """The style's sample image (PNG)."""
    style = _style(style_id)
    services = services_of(request)
    store = services.store
    configured = services.settings.worker.image_backend
    named = SimpleNamespace(name=configured)  # the key needs only the renderer's name
    rendered_by_backend = StylePreviews(named, store, f"{configured}-{__version__}").key(style.name)  # type: ignore[arg-type]
    if store.exists(rendered_by_backend):
        return Response(store.get(rendered_by_backend), media_type="image/png", headers={"X-Preview-Backend": configured})
    previews = _preview_backend(request)
    with _render_lock:
        shown = previews.preview(style.name)
    return Response(store.get(shown.key), media_type="image/png", headers={"X-Preview-Backend": previews.renderer.name})


def _preview_backend(request: Request) -> StylePreviews:
    state = request.app.state
    if getattr(state, "style_previews", None) is None:
        from media_stream.render.image.preview import PreviewRenderer

        renderer = PreviewRenderer(max_batch_size=1)
        renderer.load()
        state.style_previews = StylePreviews(renderer, services_of(request).store, f"{renderer.name}-{__version__}")
    return state.style_previews
