"""The HTTP side of an agent or the catalog processor: ``GET /metrics`` (Prometheus text),
``/healthz/live`` and ``/healthz/ready`` (JSON; 200 or 503). Standard library server on a daemon
thread: no web framework in an agent. ``health`` is anything with ``live()`` and ``ready()``."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from media_stream.domain.errors import ConfigurationError
from media_stream.observability.health import Health

log = logging.getLogger(__name__)


class HealthServer:
    def __init__(self, health: Health, registry: CollectorRegistry, host: str = "0.0.0.0", port: int = 9400) -> None:
        """Port 0 binds a free port (tests); ``run_agent`` and ``catalog run`` start no server when configured 0."""
        self.health = health
        self.registry = registry
        try:
            self._server = ThreadingHTTPServer((host, port), _handler(self))
        except OSError as exc:
            raise ConfigurationError(
                f"metrics and health port {host}:{port} is not free ({exc.strerror or exc}): another agent or the catalog "
                f"processor of this host has it; set MEDIA_STREAM_OBSERVABILITY__PORT to a free port (0: no server)"
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("metrics and health on port %d", self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(server: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz/live":
                self._json(*server.health.live())
            elif path == "/healthz/ready":
                self._json(*server.health.ready())
            else:
                self._json(False, {"error": "not found", "paths": ["/metrics", "/healthz/live", "/healthz/ready"]}, status=404)

        def _json(self, ok: bool, body: dict[str, Any], status: int | None = None) -> None:
            self._send(status or (200 if ok else 503), json.dumps(body).encode(), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - probes every few seconds: not worth a log line
            log.debug("%s " + format, self.address_string(), *args)

    return Handler
