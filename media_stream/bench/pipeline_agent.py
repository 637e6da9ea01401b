"""Our image agent for ``bench pipeline``, in its own process: the null renderer, an in-memory
store, run until SIGTERM.

Run as a script (``python path/to/pipeline_agent.py SPEC``, SPEC JSON: bootstrap, group, routes)
so that the ``media_stream`` it imports is whichever tree is first on PYTHONPATH: the benchmark
runs an earlier commit's agent this way (``--baseline-ref``). It therefore uses only
``build_agent``, ``AgentRoutes``, ``NullRenderer`` and ``MemoryStore``, as they were on main.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys


def main(spec_json: str) -> None:
    from media_stream.config import Settings
    from media_stream.render.image.null import NullRenderer
    from media_stream.runtime.assembly import build_agent
    from media_stream.runtime.routes import AgentRoutes
    from media_stream.storage.memory import MemoryStore

    spec = json.loads(spec_json)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings()
    settings.worker.poll_timeout_s = 0.05
    settings.worker.max_batch_size = 64  # the null renderer batches anything
    known = {f.name for f in dataclasses.fields(AgentRoutes)}  # an earlier tree knows fewer fields
    given = {k: v for k, v in spec["routes"].items() if k in known}
    routes = AgentRoutes(**{**given, "request_types": tuple(given["request_types"])})
    agent = build_agent(settings, "image", spec["bootstrap"], spec["group"], routes, NullRenderer(), MemoryStore())
    signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
    profile = os.environ.get("MEDIA_STREAM_BENCH_PROFILE")  # a cProfile dump of the agent's thread
    if not profile:
        agent.run()
        return
    import cProfile

    cProfile.runctx("agent.run()", globals(), {"agent": agent}, profile)


if __name__ == "__main__":
    if sys.path and sys.path[0].endswith("bench"):
        sys.path.pop(0)  # run as a script: import media_stream from PYTHONPATH, not this folder
    main(sys.argv[1])
