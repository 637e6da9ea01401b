"""The agent's flow control and its ownership check on arrival, on stand-ins (no broker)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from media_stream.config import Settings
from media_stream.kafka.messages import ConsumedMessage
from media_stream.observability.metrics import AgentMetrics
from media_stream.runtime.agent import Agent
from media_stream.runtime.offsets import OffsetLedger


class _Consumer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self, partitions: Any) -> None:
        self.calls.append("pause")

    def resume(self, partitions: Any) -> None:
        self.calls.append("resume")


def _stub(window: int) -> Any:
    settings = Settings()
    settings.worker.in_flight_window = window
    return SimpleNamespace(settings=settings, hold_until=0.0, paused=False, scheduler=[], consumer=_Consumer(), assigned={("requests", 0)}, metrics=AgentMetrics(gpu=False))


def test_the_window_pauses_when_full_and_resumes_only_when_half_empty() -> None:
    agent = _stub(window=8)
    for in_flight in (8, 7, 8, 7, 6, 5, 8, 4, 5, 8):  # one finishes, the poll refills it, and so on
        agent.scheduler = [None] * in_flight
        Agent._flow_control(agent)
    # on main: pause, resume, pause, resume, ... at every turn the window was not full
    assert agent.consumer.calls == ["pause", "resume", "pause"]


def test_a_message_of_a_partition_not_assigned_is_not_taken_into_work() -> None:
    agent = SimpleNamespace(assigned={("requests", 1)}, ledger=OffsetLedger(), metrics=AgentMetrics(gpu=False))
    Agent._accept(agent, ConsumedMessage("requests", 0, 41, b"proj", b"\x00"))  # type: ignore[arg-type]
    assert agent.ledger.unfinished() == 0 and agent.metrics.tally()["unowned"] == 1  # on main: decoded and taken
