"""Liveness and readiness of an agent, as the agent loop reports them.

The loop writes plain values here (its phase, when it last turned, the partitions it serves, that
the model is loaded); the HTTP thread only reads them, plus one check of its own: the object
store, at most every ``storage_check_interval_s``.

- live: the loop turned within ``live_within_s`` (or the agent is still loading its model);
  a loop stuck in a call that never returns stops being live and its orchestrator restarts it.
- ready: partitions assigned (and their state restored), the model loaded, the store reachable.

``HealthServer`` serves anything shaped like ``Health`` (``live()`` and ``ready()``); ``check``,
``readiness`` and ``loop_liveness`` build those answers (the catalog processor's
``CatalogHealth`` uses them too).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

Check = tuple[bool, dict[str, Any]]


class Health(Protocol):
    """What ``HealthServer`` asks: (ok, JSON body) for /healthz/live and /healthz/ready."""

    def live(self) -> Check: ...

    def ready(self) -> Check: ...


def check(ok: bool, reason: str, **detail: Any) -> dict[str, Any]:
    """One named readiness check: ``ok``, its detail, and ``reason`` when it failed."""
    return {"ok": ok, **detail, **({} if ok else {"reason": reason})}


def readiness(checks: dict[str, dict[str, Any]]) -> Check:
    """Ready when every named check is; the body names the ones that failed."""
    ok = all(c["ok"] for c in checks.values())
    failed = [name for name, c in checks.items() if not c["ok"]]
    return ok, {"ready": ok, "failed": failed, "checks": checks}


def loop_liveness(phase: str, last_turn: float | None, live_within_s: float, starting: tuple[str, ...], who: str) -> Check:
    """Live while starting (``phase`` in ``starting``) or while the loop turned within
    ``live_within_s`` (monotonic ``last_turn``); never once ``phase`` is "stopped"."""
    if phase in starting:
        return True, {"live": True, "phase": phase}
    if phase == "stopped":
        return False, {"live": False, "phase": phase, "reason": f"the {who} loop has ended"}
    age = None if last_turn is None else time.monotonic() - last_turn
    ok = age is not None and age <= live_within_s
    body: dict[str, Any] = {"live": ok, "phase": phase, "last_turn_s_ago": None if age is None else round(age, 3)}
    if not ok:
        body["reason"] = f"the {who} loop has not turned for more than {live_within_s:g}s"
    return ok, body


class AgentHealth:
    def __init__(self, live_within_s: float = 60.0, storage_check: Callable[[], None] | None = None, storage_check_interval_s: float = 10.0) -> None:
        self.live_within_s = live_within_s
        self.storage_check = storage_check
        self.storage_check_interval_s = storage_check_interval_s
        self.phase = "starting"  # starting -> loading -> running -> stopping -> stopped
        self.model_loaded = False
        self.partitions: tuple[int, ...] = ()  # request partitions assigned and restored
        self.in_group = False  # the group gave this agent an assignment (maybe empty); False after a loss
        self.last_turn: float | None = None  # monotonic
        self._storage_lock = threading.Lock()
        self._storage: tuple[float, bool, str] | None = None  # (checked at, ok, error)

    # ---- written by the agent loop --------------------------------------------------------

    def loop_turned(self) -> None:
        self.last_turn = time.monotonic()

    # ---- read by the HTTP thread ------------------------------------------------------------

    def live(self) -> Check:
        return loop_liveness(self.phase, self.last_turn, self.live_within_s, ("starting", "loading"), "agent")

    def ready(self) -> Check:
        return readiness(
            {
                "loop": check(self.phase == "running", f"agent is {self.phase}"),
                # A member with no partition is ready (idle): with as many agents as partitions, a
                # rollout's surge pod gets none until an old pod leaves, and must not hang the rollout.
                "assignment": check(self.in_group, "not a member of the consumer group yet", partitions=list(self.partitions), idle=not self.partitions),
                "model": check(self.model_loaded, "model not loaded"),
                "storage": self._storage_status(),
            }
        )

    def _storage_status(self) -> dict[str, Any]:
        if self.storage_check is None:
            return {"ok": True, "detail": "no store configured"}
        with self._storage_lock:  # one check at a time; probes in between read its result
            now = time.monotonic()
            if self._storage is None or now - self._storage[0] >= self.storage_check_interval_s:
                try:
                    self.storage_check()
                    self._storage = (now, True, "")
                except Exception as exc:  # noqa: BLE001 - any failure means not reachable
                    self._storage = (now, False, f"{type(exc).__name__}: {exc}")
            _, ok, error = self._storage
        return {"ok": True} if ok else {"ok": False, "reason": error}
