"""GET /console: the console, a page of plain HTML, CSS and JavaScript shipped in the package
(``media_stream/gateway/console/``), with no build step and nothing fetched from elsewhere.

The page itself needs no token: it holds no data. It asks for a bearer token once, keeps it in
``sessionStorage`` and sends it as ``Authorization`` on every API call (no cookies, so no CSRF
surface); the SSE stream is read with ``fetch()`` for the same reason (EventSource cannot send
headers). Only the files present in the folder at import are served, by exact name, under a
Content-Security-Policy that allows this origin's scripts, styles and API and ``blob:`` images
and audio (the bytes fetched with the token), and nothing inline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

CONSOLE_DIR = Path(__file__).with_name("console")
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
FILES = {p.name: p for p in sorted(CONSOLE_DIR.iterdir()) if p.is_file() and p.suffix in _TYPES} if CONSOLE_DIR.is_dir() else {}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' blob: data:; media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _file(name: str) -> Response:
    path = FILES.get(name)
    if path is None:
        raise HTTPException(404, {"error": "not_found", "message": f"no console file {name[:80]!r}"})
    return Response(path.read_bytes(), media_type=_TYPES[path.suffix], headers=HEADERS)


@router.get("/console")
@router.get("/console/")
def console_index() -> Response:
    """The console's page."""
    return _file("index.html")


@router.get("/console/{name}")
def console_file(name: str) -> Response:
    """One of the console's own files (its script and stylesheet), by exact name."""
    return _file(name)
