"""GET /api/v1/files/{key}: the bytes of a project's stored file (an image, a narration, music),
for a page that cannot read the ``file://`` URL or reach the bucket an outcome names.

The key is checked by ``storage/keys.py`` (no '..', no leading '/', no URL, ids only) and must lie
under one of the project prefixes (``images/``, ``narration/``, ``music/``, ``characters/``
followed by a project id), so nothing else in the store (style previews, health files) is served.
The answer is served as a download-safe type: the stored content type when it is one of a few
media types, ``application/octet-stream`` otherwise, with ``nosniff`` and a sandboxing CSP.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from media_stream.catalog.client import PROJECT_FILE_KINDS
from media_stream.domain.errors import ValidationError
from media_stream.gateway import schemas
from media_stream.gateway.auth import Principal, require_user_or_service
from media_stream.gateway.routes.images import ERRORS
from media_stream.gateway.routes.publishing import services_of
from media_stream.storage.base import ObjectNotFound
from media_stream.storage.keys import validate_key

router = APIRouter()
SERVED_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "audio/wav", "audio/x-wav", "audio/mpeg", "audio/ogg", "audio/flac"})
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, max-age=300",
}


def project_file_key(key: str) -> str:
    """``key`` if it is a valid storage key of a project's file, else ValidationError."""
    validate_key(key, "key")
    parts = key.split("/")
    if len(parts) < 3 or parts[0] not in PROJECT_FILE_KINDS:
        raise ValidationError("key", f"{key[:60]!r} is not a project's file", f"{{{'|'.join(PROJECT_FILE_KINDS)}}}/{{projectId}}/...")
    return key


@router.get(
    "/files/{key:path}",
    response_class=Response,
    responses={**ERRORS, 404: {"model": schemas.ErrorOut}, 200: {"content": {"image/png": {}, "audio/wav": {}}, "description": "The stored bytes."}},
    name="project_file",
)
def project_file(request: Request, key: str, _: Principal = Depends(require_user_or_service("assets:read"))) -> Response:
    """The stored bytes under ``key`` (an ImageReady's or AudioReady's ``storageKey``)."""
    try:
        project_file_key(key)
    except ValidationError:
        raise HTTPException(404, {"error": "not_found", "message": f"no file {key[:120]!r}"}) from None
    store = services_of(request).store
    try:
        info = store.stat(key)
        data = store.get(key)
    except ObjectNotFound:
        raise HTTPException(404, {"error": "not_found", "message": f"no file {key!r}"}) from None
    media_type = info.content_type if info.content_type in SERVED_TYPES else "application/octet-stream"
    return Response(data, media_type=media_type, headers=HEADERS)
