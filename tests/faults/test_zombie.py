"""A zombie: the agent rendering a storyboard is paused (SIGSTOP: a VM stall, a swap storm, a stuck
driver call) mid-scene for longer than its session timeout, the other agent takes its partitions
over, and then the paused one resumes (SIGCONT) with a scene finished in hand and its old
generation. Kafka's transactions exist to fence exactly this: a read_committed reader sees every
scene's ImageReady once and one BatchCompleted, and the resumed agent does not crash-loop.

Each round pauses whichever agent owns that round's storyboard, so over the rounds both agents
are zombies and survivors in turn. Outcomes are read to the topics' end offsets a while after the
zombie resumed, so its late commit, if it makes one, is seen.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady
from tests.faults.invariants import all_ended, assert_accounted, record_rounds
from tests.helpers.agents import agent_processes, agent_spec, await_assignments, renders_of, restarts
from tests.helpers.outcomes import collect_to_end
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import make_routes
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.kafka
ROUNDS = int(os.environ.get("MEDIA_STREAM_FAULTS_ZOMBIE_ROUNDS", "3"))
SCENES = 12
HOLD_S = 0.5  # the renderer holds each scene this long
SESSION_TIMEOUT_MS = 6_000  # the broker's group.min.session.timeout.ms
# The worker's default: longer than the pause, so a transaction the zombie had open when it was
# paused is still open (not aborted by the broker) when it resumes.
TRANSACTION_TIMEOUT_MS = 10_000
# Each transaction with an ImageReady stays open this long before its commit (a slow broker round
# trip): the window the "just after a scene" pause lands in.
SLOW_COMMIT_S = 0.3
# When in the scene the pause comes: just after the last scene was rendered (its ImageReady
# transaction open, the next scene rendering) or halfway through the next scene.
PAUSE_AFTER_S = (0.1, HOLD_S / 2 + SLOW_COMMIT_S)
PAUSE_AT_LEAST_S = SESSION_TIMEOUT_MS / 1000 + 3


def test_a_paused_agent_that_resumes_after_a_takeover_publishes_no_scene_twice(settings: Settings, unique_topic: Callable[..., str], kafka_bootstrap: str, tmp_path: Path) -> None:
    routes, log = make_routes(unique_topic, 2), tmp_path / "renders.log"
    spec = agent_spec(kafka_bootstrap, routes, tmp_path, delay_s=HOLD_S, session_timeout_ms=SESSION_TIMEOUT_MS, transaction_timeout_ms=TRANSACTION_TIMEOUT_MS, slow_commit_s=SLOW_COMMIT_S, supervised=True)
    rounds: list[dict[str, object]] = []
    with agent_processes([spec, dict(spec)], tmp_path) as agents:
        await_assignments(2, tmp_path)
        by_pid = {a.pid: i for i, a in enumerate(agents)}
        for r in range(ROUNDS):
            tag = f"zombie{r}"
            story = storyboard(tag, f"proj-z{r}", scenes=SCENES)
            publish(settings, kafka_bootstrap, routes, story)
            wait_for(f"round {r}: three scenes rendered", lambda: len(renders_of(log, tag)) >= 3, timeout_s=60, every_s=0.02)
            owner_pid = renders_of(log, tag)[-1][0]
            zombie = by_pid[owner_pid]
            restarts_before = restarts(tmp_path, zombie)
            done = len(renders_of(log, tag))
            wait_for(f"round {r}: the next scene", lambda: len(renders_of(log, tag)) > done, timeout_s=10, every_s=0.02)
            time.sleep(PAUSE_AFTER_S[r % len(PAUSE_AFTER_S)])
            os.kill(owner_pid, signal.SIGSTOP)
            paused_at = time.monotonic()
            try:
                wait_for(f"round {r}: a takeover", lambda: any(pid != owner_pid for pid, _ in renders_of(log, tag)), timeout_s=90, every_s=0.02)
                time.sleep(max(0.0, PAUSE_AT_LEAST_S - (time.monotonic() - paused_at)))
            finally:
                os.kill(owner_pid, signal.SIGCONT)
            paused_s = time.monotonic() - paused_at
            seen = collect_to_end(settings, routes, kafka_bootstrap, all_ended([story]), timeout_s=120, settle_s=4)
            ready = Counter(e.scene_id for _, e in seen if isinstance(e, ImageReady) and e.job_id == tag)
            rounds.append({
                "round": r, "paused_after_s": PAUSE_AFTER_S[r % len(PAUSE_AFTER_S)], "scenes": SCENES, "paused_s": round(paused_s, 1),
                "image_ready": sum(ready.values()), "duplicates": sum(n - 1 for n in ready.values() if n > 1),
                "lost": SCENES - len(ready), "batch_completed": sum(isinstance(e, BatchCompleted) and e.job_id == tag for _, e in seen),
                "zombie_restarts": restarts(tmp_path, zombie) - restarts_before, "seen": seen, "story": story,
            })
        alive = [a.poll() is None for a in agents]
    summary = [{k: v for k, v in rnd.items() if k not in ("seen", "story")} for rnd in rounds]
    print(f"zombie rounds: {summary}")
    record_rounds("zombie", [{**s, "restarts": s["zombie_restarts"]} for s in summary])
    assert alive == [True, True], f"an agent process died: {alive}"
    assert [(s["duplicates"], s["lost"], s["batch_completed"]) for s in summary] == [(0, 0, 1)] * ROUNDS, summary
    assert all(int(s["zombie_restarts"]) <= 1 for s in summary), f"a zombie crash-looped: {summary}"  # type: ignore[call-overload]
    for rnd in rounds:
        assert assert_accounted(rnd["seen"], [rnd["story"]], scenario=f"zombie round {rnd['round']}") == {rnd["story"].job_id: "completed"}  # type: ignore[arg-type, attr-defined]
