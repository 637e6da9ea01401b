"""GET /healthz: the process answers (no auth, no broker call)."""

from __future__ import annotations

from fastapi import APIRouter

from media_stream import __version__

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict:
    return {"status": "ok", "version": __version__}
