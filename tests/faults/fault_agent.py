"""An image agent in its own process for the fault suite: ``python -m tests.faults.fault_agent SPEC``.

SPEC is the JSON of ``tests.integration.runtime.agent_process`` (bootstrap, routes, group,
storage_root, render_log, delay_s, session_timeout_ms) plus optional ``transaction_timeout_ms`` and
``hold_commit``: ``{"marker": PATH, "after_ready": N}`` — once N scenes are rendered, the next
transaction that carries ImageReady events is held open before its commit (forever), and MARKER
is written: the test kills the agent mid-transaction.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from media_stream.config import Settings
from media_stream.kafka.messages import OutgoingMessage
from media_stream.runtime.agent import Agent
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.storage.filesystem import FilesystemStore
from tests.integration.runtime.scripted_renderer import ScriptedRenderer


def hold_a_commit(agent: Agent, marker: Path, after_ready: int) -> None:
    """Wrap the agent's transactional producer: the first transaction with ImageReady events after
    ``after_ready`` renders stays open (its messages sent, not committed) and MARKER says so."""
    producer = agent.producer
    send, transaction = producer.send, producer.transaction
    carried = [0]

    def counting_send(message: OutgoingMessage) -> None:
        carried[0] += message.topic == agent.routes.image_ready
        send(message)

    @contextmanager
    def held_transaction(*args: Any, **kwargs: Any) -> Iterator[None]:
        with transaction(*args, **kwargs):
            carried[0] = 0
            yield
            if carried[0] and agent.counters["rendered_steps"] >= after_ready:
                producer._producer.flush(10)  # the messages reach the broker, inside the open transaction
                marker.write_text(json.dumps({"ready_in_open_transaction": carried[0]}))
                time.sleep(3600)

    producer.send = counting_send  # type: ignore[method-assign]
    producer.transaction = held_transaction  # type: ignore[method-assign]


def main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
    settings = Settings(storage={"root": spec["storage_root"]})
    settings.worker.poll_timeout_s = 0.05
    settings.worker.session_timeout_ms = spec.get("session_timeout_ms", settings.worker.session_timeout_ms)
    settings.worker.transaction_timeout_ms = spec.get("transaction_timeout_ms", settings.worker.transaction_timeout_ms)
    if spec.get("hold_commit"):
        settings.worker.commit_shards = 1  # hold_a_commit wraps the one producer: every transaction goes through it
    routes = AgentRoutes(**{**spec["routes"], "request_types": tuple(spec["routes"]["request_types"])})
    renderer = ScriptedRenderer(Path(spec["render_log"]), default_delay_s=spec["delay_s"])
    agent = build_agent(settings, "image", spec["bootstrap"], spec["group"], routes, renderer, FilesystemStore(spec["storage_root"]))
    if spec.get("hold_commit"):
        hold_a_commit(agent, Path(spec["hold_commit"]["marker"]), spec["hold_commit"]["after_ready"])
    signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
    agent.run()


if __name__ == "__main__":
    main(sys.argv[1])
