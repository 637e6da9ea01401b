"""An agent under a supervisor, as a deployment runs it (systemd, Kubernetes): when the agent
stops with an error (a lost broker, lost partitions), a fresh one is built and rejoins from the
committed state. Runs on a thread; ``stop()`` ends it cleanly (SIGTERM path)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from media_stream.runtime.agent import Agent

log = logging.getLogger(__name__)


class SupervisedAgent:
    def __init__(self, build: Callable[[], Agent], restart_delay_s: float = 1.0) -> None:
        self.build = build
        self.restart_delay_s = restart_delay_s
        self.errors: list[BaseException] = []  # one per restart
        self.agents: list[Agent] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    @property
    def agent(self) -> Agent | None:
        return self.agents[-1] if self.agents else None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                agent = self.build()
                self.agents.append(agent)
                if self._stopping.is_set():
                    agent.stopping.set()
                agent.run()
                return  # a clean stop
            except Exception as exc:  # noqa: BLE001 - what a supervisor restarts on
                log.warning("agent stopped with %s: %s; restarting", type(exc).__name__, exc)
                self.errors.append(exc)
                self._stopping.wait(self.restart_delay_s)

    def stop(self, timeout_s: float = 90.0) -> None:
        self._stopping.set()
        if self.agent is not None:
            self.agent.stopping.set()
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"the supervised agent did not stop within {timeout_s:g}s"
