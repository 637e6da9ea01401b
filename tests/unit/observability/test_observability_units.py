"""The observability pieces on their own: bounded project labels, NVML when present, JSON log
fields, health transitions, the hold renderer, the committer's abort hook."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
import types
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from media_stream.domain.errors import RenderCancelled
from media_stream.domain.scenes import SceneWork
from media_stream.observability.health import AgentHealth
from media_stream.observability.logging_setup import JsonFormatter, job_fields
from media_stream.observability.metrics import OTHER_PROJECTS, AgentMetrics, size_label
from media_stream.render.image.base import RenderHooks
from media_stream.render.image.hold import HoldRenderer
from media_stream.runtime.committer import TransactionCommitter


def samples(metrics: AgentMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_queue_depth_labels_only_the_deepest_projects_and_drops_drained_ones() -> None:
    metrics = AgentMetrics(max_project_labels=3, gpu=False)
    metrics.sample(10, {"a": 5, "b": 1, "c": 4, "d": 2, "e": 1}, {("req", 0): 7, ("req", 3): 0})
    got = samples(metrics)
    depth = {dict(labels)["project"]: v for (name, labels), v in got.items() if name == "media_stream_queue_depth"}
    assert depth == {"a": 5, "c": 4, "d": 2, OTHER_PROJECTS: 2}
    assert got[("media_stream_requests_in_flight", ())] == 10
    assert got[("media_stream_consumer_lag", (("partition", "0"), ("topic", "req")))] == 7

    metrics.sample(1, {"b": 1}, {("req", 3): 2})  # a, c, d drained; partition 0 revoked
    got = samples(metrics)
    depth = {dict(labels)["project"]: v for (name, labels), v in got.items() if name == "media_stream_queue_depth"}
    assert depth == {"b": 1}
    assert [labels for (name, labels) in got if name == "media_stream_consumer_lag"] == [(("partition", "3"), ("topic", "req"))]


def test_render_timer_observes_batch_size_and_seconds_by_backend_and_size() -> None:
    metrics = AgentMetrics(gpu=False)
    with metrics.render("hold", "64x64", 3):
        time.sleep(0.02)
    got = samples(metrics)
    assert got[("media_stream_render_seconds_count", (("backend", "hold"), ("size", "64x64")))] == 1
    assert got[("media_stream_render_seconds_sum", (("backend", "hold"), ("size", "64x64")))] >= 0.02
    assert got[("media_stream_batch_size_sum", ())] == 3
    assert size_label(types.SimpleNamespace(width=1024, height=768)) == "1024x768"


def test_sample_due_throttles_to_the_interval() -> None:
    metrics = AgentMetrics(sample_interval_s=10.0, gpu=False)
    assert metrics.sample_due(100.0)
    assert not metrics.sample_due(105.0)
    assert metrics.sample_due(110.0)


class FakeNvml:
    def nvmlInit(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:
        return types.SimpleNamespace(gpu=87, memory=40)

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        return types.SimpleNamespace(used=30 * 2**30, total=80 * 2**30, free=50 * 2**30)


def test_gpu_metrics_come_from_nvml_when_importable_and_are_absent_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # not importable
    without = samples(AgentMetrics())
    assert not [k for k in without if k[0].startswith("media_stream_gpu")]
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml())
    got = samples(AgentMetrics())
    assert got[("media_stream_gpu_utilization_ratio", (("gpu", "0"),))] == pytest.approx(0.87)
    assert got[("media_stream_gpu_memory_used_bytes", (("gpu", "0"),))] == 30 * 2**30
    assert got[("media_stream_gpu_memory_total_bytes", (("gpu", "0"),))] == 80 * 2**30


@dataclass
class _Message:
    topic: str = "media.image.requests.v1"
    partition: int = 4
    offset: int = 17


def test_json_log_lines_carry_the_job_and_message_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.observability.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        job = types.SimpleNamespace(message=_Message(), request=types.SimpleNamespace(job_id="j1", project_id="p1", request_id="r1"))
        logger.warning("job %s %s", "j1", "completed", extra={**job_fields(job), "status": "completed"})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("plain")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "job j1 completed" and first["level"] == "WARNING" and first["logger"] == "test.observability.json"
    assert {k: first[k] for k in ("jobId", "projectId", "requestId", "topic", "partition", "offset", "status")} == {
        "jobId": "j1", "projectId": "p1", "requestId": "r1", "topic": "media.image.requests.v1", "partition": 4, "offset": 17, "status": "completed"
    }
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert "jobId" not in second and "ValueError: boom" in second["exc"]


def test_liveness_follows_the_loop_and_readiness_names_the_failed_check() -> None:
    broken = {"down": False}

    def storage() -> None:
        if broken["down"]:
            raise OSError("store unreachable")

    health = AgentHealth(live_within_s=0.2, storage_check=storage, storage_check_interval_s=0.0)
    assert health.live()[0]  # loading a model is alive
    ok, body = health.ready()
    assert not ok and set(body["failed"]) == {"loop", "assignment", "model"}
    health.phase, health.model_loaded = "running", True
    health.loop_turned()
    assert health.live()[0]
    assert health.ready()[1]["failed"] == ["assignment"]  # not in the group yet
    health.in_group = True  # a member with no partition: ready, idle
    ok, body = health.ready()
    assert ok and body["checks"]["assignment"] == {"ok": True, "partitions": [], "idle": True}
    health.partitions = (0, 3)
    ok, body = health.ready()
    assert ok and body["ready"] and body["failed"] == [] and body["checks"]["assignment"]["partitions"] == [0, 3]
    assert not body["checks"]["assignment"]["idle"]
    broken["down"] = True
    ok, body = health.ready()
    assert not ok and body["failed"] == ["storage"] and "store unreachable" in body["checks"]["storage"]["reason"]
    time.sleep(0.25)  # the loop stopped turning
    ok, body = health.live()
    assert not ok and "not turned" in body["reason"]
    health.phase = "stopped"
    assert not health.live()[0]


def test_hold_renderer_holds_each_batch_and_honours_cancel() -> None:
    renderer = HoldRenderer(hold_s=0.2, max_batch_size=4)
    work = [_scene(i) for i in range(3)]
    started = time.monotonic()
    images = renderer.render(work)
    assert 0.2 <= time.monotonic() - started < 0.5
    assert [(i.width, i.height) for i in images] == [(64, 48)] * 3 and images[0].data.startswith(b"\x89PNG")
    with pytest.raises(RenderCancelled):
        renderer.render(work, RenderHooks(is_cancelled=lambda: True))


def _scene(i: int) -> SceneWork:
    return SceneWork(f"s{i}", i, "p", "", "none", 64, 48, 5, 5.0, i)


class _FailingProducer:
    needs_renewal = False

    def commit(self, messages: Any, offsets: Any, group_metadata: Any) -> None:
        raise RuntimeError("fenced")

    def renew(self) -> None:
        pass


def test_a_failed_transaction_is_counted_as_aborted() -> None:
    metrics = AgentMetrics(gpu=False)
    committer = TransactionCommitter(_FailingProducer(), on_abort=lambda: metrics.transaction(committed=False))  # type: ignore[arg-type]
    committer.submit([], {("t", 0): 5}, "metadata")
    with pytest.raises(TimeoutError):  # retried, never raised into the agent's loop
        committer.flush(timeout_s=0.5)
    committer.close()
    assert samples(metrics)[("media_stream_transactions_total", (("outcome", "aborted"),))] >= 1
