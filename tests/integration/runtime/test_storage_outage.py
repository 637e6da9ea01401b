"""A storage outage in the middle of a run: jobs wait (partitions paused), nothing fails, and all
of them finish once the store is back. Against a real MinIO the test stops and restarts."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from media_stream.config import Settings
from media_stream.domain.outcomes import BatchCompleted, ImageReady, JobFailed
from media_stream.runtime.assembly import build_agent
from media_stream.runtime.routes import AgentRoutes
from media_stream.storage.minio_store import MinioStore
from tests.helpers.agents import RunningAgent
from tests.helpers.outcomes import collect, ended
from tests.helpers.requests import image, publish
from tests.helpers.scripted_renderer import ScriptedRenderer

pytestmark = pytest.mark.kafka


def test_jobs_wait_out_a_storage_outage_and_finish_when_it_is_back(settings: Settings, routes: AgentRoutes, kafka_bootstrap: str, local_s3_server, start_agent: Callable[..., RunningAgent]) -> None:  # noqa: ANN001
    import threading

    s3 = local_s3_server
    store = MinioStore(s3.endpoint, s3.access_key, s3.secret_key, "outage-agent", retries=1, backoff_s=0.05, connect_timeout_s=1.0)
    agent = build_agent(settings, "image", kafka_bootstrap, f"agents-{routes.requests}", routes, ScriptedRenderer(), store)
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        publish(settings, kafka_bootstrap, routes, image("before", "proj-o"))
        collect(settings, routes, kafka_bootstrap, ended({"before"}))
        s3.stop()
        publish(settings, kafka_bootstrap, routes, *(image(f"during-{i}", f"proj-{i % 3}") for i in range(6)))
        deadline = time.monotonic() + 30
        while agent.counters["storage_holds"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert agent.counters["storage_holds"] >= 2  # held, probed, held again: not failing jobs
        assert agent.counters["failed"] == 0
        s3.start()  # same port, same data dir
        seen = collect(settings, routes, kafka_bootstrap, ended({"before"} | {f"during-{i}" for i in range(6)}), timeout_s=90)
    finally:
        agent.stopping.set()
        thread.join(60)
    assert not any(isinstance(e, JobFailed) for _, e in seen)
    assert sorted(e.job_id for _, e in seen if isinstance(e, BatchCompleted)) == sorted(["before"] + [f"during-{i}" for i in range(6)])
    for _, event in seen:
        if isinstance(event, ImageReady):
            assert store.exists(event.storage_key)  # every published image is in the store
