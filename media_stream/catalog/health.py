"""Liveness and readiness of the catalog processor (`media-stream catalog run`), as its loop reports them.

The loop (and the consumer's rebalance callbacks, which run inside its poll) writes plain values
here; the HTTP thread of ``HealthServer`` only reads them.

- live: the loop turned within ``live_within_s`` (a poll returns every ``catalog.poll_timeout_s``
  even with nothing to fold, so a quiet topic stays live); not live once the loop has ended.
- ready: the loop runs and the processor is a member of its group: the group coordinator has
  given it an assignment, **even an empty one**. A replica beyond the outcome topics' partition
  count (or a new pod in a rolling update while the old one still holds every partition) is
  ready-but-idle, ``"idle": true`` in the body. Were an idle replica not ready, a rollout of a
  Deployment with ``maxUnavailable: 0`` could wait forever: the new pod gets partitions only
  once the old one leaves, and the old one is removed only once the new one is ready.
  Before the first assignment, after partitions were lost (until the group assigns again) and
  after the loop stopped: not ready (503).
"""

from __future__ import annotations

import time
from typing import Any

from media_stream.observability.health import Check, check, loop_liveness, readiness

Partition = tuple[str, int]


class CatalogHealth:
    def __init__(self, live_within_s: float = 60.0) -> None:
        self.live_within_s = live_within_s
        self.phase = "starting"  # starting -> running -> stopping -> stopped
        self.in_group = False  # an assignment arrived (possibly empty) and was not lost since
        self.partitions: tuple[Partition, ...] = ()  # replaced whole, so the HTTP thread reads one value
        self.last_turn: float | None = None  # monotonic

    # ---- written by the processor loop and its rebalance callbacks ------------------------------

    def loop_turned(self) -> None:
        self.last_turn = time.monotonic()

    def assigned(self, partitions: list[Partition]) -> None:
        """Cooperative rebalancing: ``partitions`` are added to what the processor holds (an empty
        list still means the group has taken it in)."""
        self.partitions = tuple(sorted({*self.partitions, *partitions}))
        self.in_group = True

    def revoked(self, partitions: list[Partition]) -> None:
        self.partitions = tuple(p for p in self.partitions if p not in set(partitions))

    def lost(self, partitions: list[Partition]) -> None:
        self.revoked(partitions)
        self.in_group = False  # the member was dropped from the group; ready again on its next assignment

    # ---- read by the HTTP thread ------------------------------------------------------------

    def live(self) -> Check:
        return loop_liveness(self.phase, self.last_turn, self.live_within_s, ("starting",), "catalog processor")

    def ready(self) -> Check:
        partitions = self.partitions
        detail: dict[str, Any] = {"partitions": [f"{t}/{p}" for t, p in partitions], "idle": not partitions}
        return readiness(
            {
                "loop": check(self.phase == "running", f"catalog processor is {self.phase}"),
                "group": check(self.in_group, "no assignment from the group yet", **detail),
            }
        )
