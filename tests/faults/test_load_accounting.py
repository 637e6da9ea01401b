"""The load path at CI size: 500 requests over 50 projects through one agent (stand-in renderer),
sent at once. Nothing is lost, nothing ends twice, each project's jobs end in order. Speed is the
benchmark's business (`media-stream bench load`), not this test's."""

from __future__ import annotations

import pytest

from media_stream.bench.load import load_benchmark
from media_stream.config import Settings

pytestmark = pytest.mark.kafka


def test_a_burst_of_500_requests_over_50_projects_loses_nothing(kafka_bootstrap: str, tmp_path) -> None:  # noqa: ANN001
    settings = Settings(kafka={"bootstrap_servers": kafka_bootstrap}, storage={"root": tmp_path / "storage"})
    figures = load_benchmark(settings, requests=500, projects=50, timeout_s=120, paced_s=2.0)
    sent = 500 + figures["paced_requests"]  # the burst, then a few seconds paced for latency
    assert figures["paced_requests"] > 0
    assert (figures["sent"], figures["completed"], figures["failed"]) == (sent, sent, 0)
    assert (figures["lost"], figures["duplicates"], figures["out_of_order"]) == (0, 0, 0)
    assert figures["agent_counters"]["completed"] == sent and figures["agent_counters"]["duplicates"] == 0
    assert figures["p50_ms"] is not None and figures["peak_rss_mb"] > 0
