"""The object store (a MinIO of the test's own) stopped and restarted in the middle of storyboards:
work holds (partitions paused) instead of failing, and every storyboard completes once the store
is back, with every published image in the store."""

from __future__ import annotations

import threading
import time

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import ImageReady
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.storage.minio_store import MinioStore
from tests.faults.invariants import all_ended, assert_accounted
from tests.helpers.outcomes import collect
from tests.helpers.requests import publish, storyboard
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka


def test_storyboards_survive_the_store_going_down_and_coming_back(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, local_s3_server) -> None:  # noqa: ANN001
    s3 = local_s3_server
    store = MinioStore(s3.endpoint, s3.access_key, s3.secret_key, "faults", retries=1, backoff_s=0.05, connect_timeout_s=1.0)
    agent = build_agent(settings, "image", kafka_bootstrap, f"agents-{routes.requests}", routes, ScriptedRenderer(default_delay_s=0.1), store)
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    submitted = [storyboard(f"sb-{p}", f"proj-{p}", scenes=6) for p in range(3)]
    try:
        publish(settings, kafka_bootstrap, routes, *submitted)
        collect(settings, routes, kafka_bootstrap, lambda seen: sum(isinstance(e, ImageReady) for _, e in seen) >= 3)
        s3.stop()
        deadline = time.monotonic() + 30
        while agent.counters["storage_holds"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        holds_while_down = agent.counters["storage_holds"]
        s3.start()  # same port, same data
        seen = collect(settings, routes, kafka_bootstrap, all_ended(submitted), timeout_s=90)
    finally:
        agent.stopping.set()
        thread.join(60)
    assert not thread.is_alive()
    assert holds_while_down >= 2  # held, probed, held again
    assert agent.counters["failed"] == 0
    assert set(assert_accounted(seen, submitted).values()) == {"completed"}
    for _, event in seen:
        if isinstance(event, ImageReady):
            assert store.exists(event.storage_key)
