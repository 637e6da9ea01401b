"""One path, with or without a trailing slash: ``/api/v1/styles/`` is ``/api/v1/styles``.

Clients written from the service card call its routes both ways; a 307 redirect loses the body
of a POST in some clients and its bearer token in others. The API's routes are declared without
the slash, and this ASGI middleware drops a trailing slash from any ``/api/`` path before routing.
Paths outside ``/api/`` (the console's static files) are left alone.
"""

from __future__ import annotations

from typing import Any

API_PREFIX = "/api/"


class TrailingSlash:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(API_PREFIX) and len(path) > len(API_PREFIX) and path.endswith("/"):
                scope = {**scope, "path": path.rstrip("/") or "/"}
                raw = scope.get("raw_path")
                if isinstance(raw, bytes) and raw.endswith(b"/"):
                    scope["raw_path"] = raw.rstrip(b"/")
        await self.app(scope, receive, send)
