"""The loop beside a long render waits instead of turning at 100 Hz (issue 18, item 7)."""

from __future__ import annotations

import time
from collections.abc import Callable

from media_stream.config import Settings
from media_stream.runtime.routes import AgentRoutes
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended
from tests.helpers.scripted_renderer import ScriptedRenderer
from tests.helpers.requests import publish, storyboard

RENDER_S = 3.0


def test_the_loop_turns_a_few_times_a_second_while_a_scene_renders_for_seconds(
    settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, start_agent: Callable[..., RunningAgent]
) -> None:
    settings.worker.poll_timeout_s = 0.2  # the default: the idle loop turns 5 times a second
    running = start_agent(ScriptedRenderer())
    turns: list[float] = []
    turned = running.agent.health.loop_turned
    running.agent.health.loop_turned = lambda *a, **k: (turns.append(time.monotonic()), turned(*a, **k))[1]  # type: ignore[method-assign]
    publish(settings, kafka_bootstrap, routes, storyboard("wake-1", "proj-wake", scenes=1, extra=f"slow={RENDER_S}"))
    started = time.monotonic()
    collect(settings, routes, kafka_bootstrap, ended({"wake-1"}), timeout_s=60)
    elapsed = time.monotonic() - started
    assert elapsed >= RENDER_S
    during = [t for t in turns if started <= t <= started + elapsed]
    rate = len(during) / elapsed
    # The old loop waited 10 ms for the render and polled again: about 100 turns a second.
    assert rate < 30, f"{len(during)} turns in {elapsed:.1f}s ({rate:.0f}/s) while one scene rendered"
    print(f"{len(during)} turns in {elapsed:.1f}s ({rate:.0f}/s) while one scene rendered")
    running.stop()
