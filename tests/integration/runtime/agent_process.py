"""An image agent in its own process, for crash tests: ``python -m tests.integration.runtime.agent_process SPEC``.

SPEC is JSON: bootstrap, routes (AgentRoutes fields), group, storage_root, render_log, delay_s,
session_timeout_ms (optional).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

from media_stream.config import Settings
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.storage.filesystem import FilesystemStore
from tests.integration.runtime.scripted_renderer import ScriptedRenderer


def main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
    settings = Settings(storage={"root": spec["storage_root"]})
    settings.worker.poll_timeout_s = 0.05
    settings.worker.session_timeout_ms = spec.get("session_timeout_ms", settings.worker.session_timeout_ms)
    routes = AgentRoutes(**{**spec["routes"], "request_types": tuple(spec["routes"]["request_types"])})
    renderer = ScriptedRenderer(Path(spec["render_log"]), default_delay_s=spec["delay_s"])
    agent = build_agent(settings, "image", spec["bootstrap"], spec["group"], routes, renderer, FilesystemStore(spec["storage_root"]))
    signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
    agent.run()


if __name__ == "__main__":
    main(sys.argv[1])
