"""A network partition: the connection of the agent rendering a storyboard to the broker is cut
mid-storyboard, for longer than its session timeout, and then restored. Each agent reaches a
broker of the test's own only through a TCP proxy of its own (the broker advertises the proxy
to it, so every connection goes through it). The other agent takes over; when the network heals
the cut-off one is a zombie with work in hand. Two kinds of cut, alternating by round:

- ``blackhole``: nothing passes, connections stay open; on restore what was held is delivered
  late (a partition TCP rides out: the zombie's requests reach the broker after the takeover);
- ``reset``: connections are reset and new ones refused until restore.

The invariants are the zombie's: every scene's ImageReady once for a read_committed reader, one
BatchCompleted, nothing lost, and no crash loop.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from tests.faults.invariants import all_ended, assert_accounted, record_rounds
from tests.faults.own_broker import OwnKafka, own_kafka
from tests.helpers.agents import agent_processes, agent_spec, await_assignments, renders_of, restarts
from tests.helpers.outcomes import collect_to_end
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import routes_on
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
ROUNDS = int(os.environ.get("MEDIA_STREAM_FAULTS_PARTITION_ROUNDS", "2"))
MODES = ("blackhole", "reset")
SCENES = 12
HOLD_S = 0.5
SESSION_TIMEOUT_MS = 6_000
CUT_AT_LEAST_S = SESSION_TIMEOUT_MS / 1000 + 3
SLOW_COMMIT_S = 0.3  # each transaction with an ImageReady stays open this long: the cut lands in it


@pytest.fixture
def proxied_broker(tmp_path: Path) -> Iterator[OwnKafka]:
    with own_kafka(tmp_path / "kafka", proxies=2) as broker:
        yield broker


def test_an_agent_cut_off_from_the_broker_mid_storyboard_publishes_no_scene_twice(settings: Settings, proxied_broker: OwnKafka, tmp_path: Path) -> None:
    bootstrap = proxied_broker.bootstrap
    assert bootstrap
    routes, log = routes_on(bootstrap), tmp_path / "renders.log"
    specs = [
        agent_spec(proxy.address, routes, tmp_path, delay_s=HOLD_S, session_timeout_ms=SESSION_TIMEOUT_MS, transaction_timeout_ms=10_000, slow_commit_s=SLOW_COMMIT_S, supervised=True)
        for proxy in proxied_broker.proxies
    ]
    rounds: list[dict[str, object]] = []
    with agent_processes(specs, tmp_path) as agents:
        await_assignments(2, tmp_path)
        by_pid = {a.pid: i for i, a in enumerate(agents)}
        for r in range(ROUNDS):
            mode, tag = MODES[r % len(MODES)], f"cut{r}"
            story = storyboard(tag, f"proj-n{r}", scenes=SCENES)
            publish(settings, bootstrap, routes, story)
            wait_for(f"round {r}: three scenes rendered", lambda: len(renders_of(log, tag)) >= 3, timeout_s=90, every_s=0.02)
            owner_pid = renders_of(log, tag)[-1][0]
            victim = by_pid[owner_pid]
            proxy = proxied_broker.proxies[victim]
            restarts_before = restarts(tmp_path, victim)
            done = len(renders_of(log, tag))
            wait_for(f"round {r}: the next scene", lambda: len(renders_of(log, tag)) > done, timeout_s=10, every_s=0.02)
            time.sleep(0.1)  # the scene's transaction is open, the next scene renders
            getattr(proxy, mode)()
            cut_at = time.monotonic()
            try:
                wait_for(f"round {r}: a takeover", lambda: any(pid != owner_pid for pid, _ in renders_of(log, tag)), timeout_s=90, every_s=0.02)
                time.sleep(max(0.0, CUT_AT_LEAST_S - (time.monotonic() - cut_at)))
            finally:
                proxy.restore()
            cut_s = time.monotonic() - cut_at
            seen = collect_to_end(settings, routes, bootstrap, all_ended([story]), timeout_s=120, settle_s=6)
            ready = Counter(e.scene_id for _, e in seen if isinstance(e, ImageReady) and e.job_id == tag)
            rounds.append({
                "round": r, "mode": mode, "scenes": SCENES, "cut_s": round(cut_s, 1),
                "image_ready": sum(ready.values()), "duplicates": sum(n - 1 for n in ready.values() if n > 1),
                "lost": SCENES - len(ready), "batch_completed": sum(isinstance(e, BatchCompleted) and e.job_id == tag for _, e in seen),
                "victim_restarts": restarts(tmp_path, victim) - restarts_before, "seen": seen, "story": story,
            })
        alive = [a.poll() is None for a in agents]
    summary = [{k: v for k, v in rnd.items() if k not in ("seen", "story")} for rnd in rounds]
    print(f"network partition rounds: {summary}")
    record_rounds("network partition", [{**s, "restarts": s["victim_restarts"]} for s in summary])
    assert alive == [True, True], f"an agent process died: {alive}"
    assert [(s["duplicates"], s["lost"], s["batch_completed"]) for s in summary] == [(0, 0, 1)] * ROUNDS, summary
    assert all(int(s["victim_restarts"]) <= 1 for s in summary), f"a cut-off agent crash-looped: {summary}"  # type: ignore[call-overload]
    for rnd in rounds:
        assert assert_accounted(rnd["seen"], [rnd["story"]], scenario=f"network partition round {rnd['round']}") == {rnd["story"].job_id: "completed"}  # type: ignore[arg-type, attr-defined]
