"""One image agent process for the scale-out test and ``bench scale``: the "hold" stand-in
renderer, an in-memory store, metrics and health on ``port``, JSON logs on stderr.

``python -m media_stream.bench.scale_agent SPEC``; SPEC is JSON: bootstrap, routes (AgentRoutes
fields), group, port, hold_s, max_batch_size, session_timeout_ms.
"""

from __future__ import annotations

import json
import signal
import sys

from media_stream.config import Settings
from media_stream.observability.health_server import HealthServer
from media_stream.observability.logging_setup import configure_logging
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.storage.memory import MemoryStore


def main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    configure_logging("json")
    settings = Settings()
    settings.worker.image_backend = "hold"
    settings.worker.hold_s = spec["hold_s"]
    settings.worker.max_batch_size = spec["max_batch_size"]
    settings.worker.poll_timeout_s = 0.05
    settings.worker.session_timeout_ms = spec.get("session_timeout_ms", settings.worker.session_timeout_ms)
    settings.observability.sample_interval_s = 0.5
    routes = AgentRoutes(**{**spec["routes"], "request_types": tuple(spec["routes"]["request_types"])})
    agent = build_agent(settings, "image", spec["bootstrap"], spec["group"], routes, store=MemoryStore())
    server = HealthServer(agent.health, agent.metrics.registry, "127.0.0.1", spec["port"]).start()
    signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
    try:
        agent.run()
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1])
