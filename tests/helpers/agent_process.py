"""An image agent in its own process, for the tests that kill one (the fault suite, the runtime's
crash test): ``python -m tests.helpers.agent_process SPEC``; ``tests.helpers.agents`` starts and
stops these.

SPEC is JSON (``agents.agent_spec``): bootstrap, routes (AgentRoutes fields), group, storage_root,
render_log, delay_s, session_timeout_ms and transaction_timeout_ms (optional), and optional
``hold_commit``: ``{"marker": PATH, "after_ready": N}`` — once N scenes are rendered, the next
transaction that carries ImageReady events is held open before its commit (forever), and MARKER
is written: the test kills the agent mid-transaction. ``slow_commit_s``: every transaction with
ImageReady events is held open that long before its commit. ``supervised``: run the agent as a deployment
does, a fresh one built after each error exit (each restart logs ``agent stopped with``, counted
by ``agents.restarts``); ``max_poll_interval_ms`` as the worker setting;
``heartbeat_interval_ms`` for the group consumer (below librdkafka's 3 s default, so a session
timeout of a few seconds on a broker that allows one is safe).
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
from tests.helpers.scripted_renderer import ScriptedRenderer


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


def slow_commits(agent: Agent, hold_s: float) -> None:
    """Every transaction that carries ImageReady events stays open ``hold_s`` after its messages
    reached the broker, before its commit: a slow broker round trip, a window a test can pause in."""
    producer = agent.producer
    send, transaction = producer.send, producer.transaction
    carried = [0]

    def counting_send(message: OutgoingMessage) -> None:
        carried[0] += message.topic == agent.routes.image_ready
        send(message)

    @contextmanager
    def slow_transaction(*args: Any, **kwargs: Any) -> Iterator[None]:
        with transaction(*args, **kwargs):
            carried[0] = 0
            yield
            if carried[0]:
                producer._producer.flush(10)
                time.sleep(hold_s)

    producer.send = counting_send  # type: ignore[method-assign]
    producer.transaction = slow_transaction  # type: ignore[method-assign]


def main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
    settings = Settings(storage={"root": spec["storage_root"]})
    settings.worker.poll_timeout_s = 0.05
    settings.worker.session_timeout_ms = spec.get("session_timeout_ms", settings.worker.session_timeout_ms)
    settings.worker.transaction_timeout_ms = spec.get("transaction_timeout_ms", settings.worker.transaction_timeout_ms)
    settings.worker.max_poll_interval_ms = spec.get("max_poll_interval_ms", settings.worker.max_poll_interval_ms)
    if spec.get("hold_commit"):
        settings.worker.commit_shards = 1  # hold_a_commit wraps the one producer: every transaction goes through it
    routes = AgentRoutes(**{**spec["routes"], "request_types": tuple(spec["routes"]["request_types"])})

    if spec.get("heartbeat_interval_ms"):
        import media_stream.runtime.assembly as assembly

        consumer_class = assembly.EventConsumer
        assembly.EventConsumer = lambda *a, **kw: consumer_class(*a, **{**kw, "heartbeat.interval.ms": spec["heartbeat_interval_ms"]})  # type: ignore[misc, assignment]

    def build() -> Agent:
        renderer = ScriptedRenderer(Path(spec["render_log"]), default_delay_s=spec["delay_s"])
        agent = build_agent(settings, "image", spec["bootstrap"], spec["group"], routes, renderer, FilesystemStore(spec["storage_root"]))
        if spec.get("hold_commit"):
            hold_a_commit(agent, Path(spec["hold_commit"]["marker"]), spec["hold_commit"]["after_ready"])
        if spec.get("slow_commit_s"):
            slow_commits(agent, spec["slow_commit_s"])
        return agent

    current: list[Agent] = []
    stopping = [False]

    def on_sigterm(*_: object) -> None:
        stopping[0] = True
        if current:
            current[-1].stopping.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    while True:
        current.append(build())
        if stopping[0]:
            current[-1].stopping.set()
        if not spec.get("supervised"):
            current[-1].run()
            return
        try:
            current[-1].run()
            return  # a clean stop
        except Exception as exc:  # noqa: BLE001 - what a supervisor restarts on
            logging.getLogger("agent_process").warning("agent stopped with %s: %s; restarting", type(exc).__name__, exc)
            if stopping[0]:
                return
            time.sleep(1.0)


if __name__ == "__main__":
    main(sys.argv[1])
