"""The broker (a local KRaft Kafka of the test's own) stopped and started again while storyboards
render. Agents ride it out (or are restarted by their supervisor and rejoin from committed state);
every storyboard completes, nothing is shown twice, order is kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_stream.config import Settings
from media_stream.dev.local_kafka import LocalKafka
from media_stream.domain.outcomes import ImageReady
from media_stream.runtime.assembly import build_agent
from media_stream.storage.filesystem import FilesystemStore
from tests.faults.invariants import all_ended, assert_accounted
from tests.faults.supervisor import SupervisedAgent
from tests.helpers.outcomes import collect
from tests.helpers.requests import publish, storyboard
from tests.helpers.routes import routes_on
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A broker only this test uses, which it may stop and start (same ports, same data)."""
    base = Settings()  # the jar cache is shared; data, ports and state are the test's own
    settings = base.model_copy(update={"local_kafka": base.local_kafka.model_copy(update={"port": 0, "heap": "384m"})})
    broker = LocalKafka(settings, data_dir=tmp_path / "kafka")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_storyboards_complete_across_a_broker_restart(settings: Settings, own_broker: LocalKafka, tmp_path: Path) -> None:
    bootstrap = own_broker.bootstrap
    assert bootstrap
    routes = routes_on(bootstrap)
    settings.worker.transaction_timeout_ms = 5_000
    settings.worker.session_timeout_ms = 6_000
    store = FilesystemStore(settings.storage.root)
    supervised = SupervisedAgent(lambda: build_agent(settings, "image", bootstrap, f"agents-{routes.requests}", routes, ScriptedRenderer(default_delay_s=0.4), store))
    submitted = [storyboard(f"br-{p}", f"proj-{p}", scenes=8) for p in range(3)]
    try:
        publish(settings, bootstrap, routes, *submitted)
        collect(settings, routes, bootstrap, lambda seen: sum(isinstance(e, ImageReady) for _, e in seen) >= 3)
        rendered_at_stop = sum(a.counters["rendered_steps"] for a in supervised.agents)
        own_broker.stop()
        time.sleep(3)  # the agent renders on, its commits and polls fail or wait
        own_broker.start()
        assert own_broker.bootstrap == bootstrap  # same port: clients reconnect
        seen = collect(settings, routes, bootstrap, all_ended(submitted), timeout_s=120)
    finally:
        supervised.stop()
    assert rendered_at_stop < 24  # the broker went down mid-run
    assert set(assert_accounted(seen, submitted).values()) == {"completed"}
    print(f"rendered at stop: {rendered_at_stop}; agent restarts: {[type(e).__name__ for e in supervised.errors]}")
    assert len(supervised.errors) <= 3, f"restarted too often: {supervised.errors!r}"
