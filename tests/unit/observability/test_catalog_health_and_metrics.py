"""The catalog processor's health and metrics without a broker: readiness follows group membership
(an empty assignment counts, a lost one does not), liveness the loop; lag series follow the
partitions held."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry

from media_stream.catalog.health import CatalogHealth
from media_stream.catalog.metrics import CatalogMetrics


def test_readiness_is_group_membership_even_without_partitions_and_liveness_the_loop() -> None:
    health = CatalogHealth(live_within_s=0.2)
    assert health.live()[0]  # starting: live
    ok, body = health.ready()
    assert not ok and body["failed"] == ["loop", "group"]
    health.phase = "running"
    health.loop_turned()
    assert health.ready()[1]["failed"] == ["group"]
    health.assigned([])  # the group took it in, with nothing to give: ready but idle
    ok, body = health.ready()
    assert ok and body["checks"]["group"] == {"ok": True, "partitions": [], "idle": True}
    health.assigned([("ready", 1), ("ready", 0)])
    health.assigned([("audio", 0)])  # cooperative: increments
    assert health.ready()[1]["checks"]["group"]["partitions"] == ["audio/0", "ready/0", "ready/1"]
    health.revoked([("ready", 0)])
    ok, body = health.ready()
    assert ok and body["checks"]["group"]["partitions"] == ["audio/0", "ready/1"] and not body["checks"]["group"]["idle"]
    health.lost([("audio", 0), ("ready", 1)])  # dropped from the group: not ready until it is assigned again
    ok, body = health.ready()
    assert not ok and body["failed"] == ["group"] and body["checks"]["group"]["partitions"] == []
    time.sleep(0.25)
    ok, body = health.live()
    assert not ok and "catalog processor loop has not turned" in body["reason"]
    health.phase = "stopped"
    assert not health.live()[0] and "loop" in health.ready()[1]["failed"]


def test_metrics_count_commits_and_keep_lag_series_of_held_partitions_only() -> None:
    metrics = CatalogMetrics(CollectorRegistry(), sample_interval_s=60.0)
    metrics.committed(entries=3, dead_letters=1)
    metrics.aborted()
    metrics.rebalance("assign")
    assert metrics.sample_due(now=100.0) and not metrics.sample_due(now=110.0) and metrics.sample_due(now=160.0)
    metrics.set_lag({("ready", 0): 5, ("ready", 1): 0})
    metrics.set_lag({("ready", 1): 2})  # partition 0 revoked: its series goes
    r = metrics.registry
    assert r.get_sample_value("media_stream_catalog_entries_total") == 3
    assert r.get_sample_value("media_stream_catalog_dead_letters_total") == 1
    assert r.get_sample_value("media_stream_catalog_transactions_total", {"outcome": "committed"}) == 1
    assert r.get_sample_value("media_stream_catalog_transactions_total", {"outcome": "aborted"}) == 1
    assert r.get_sample_value("media_stream_catalog_rebalances_total", {"kind": "assign"}) == 1
    assert r.get_sample_value("media_stream_catalog_rebalances_total", {"kind": "lost"}) == 0
    assert r.get_sample_value("media_stream_catalog_consumer_lag", {"topic": "ready", "partition": "0"}) is None
    assert r.get_sample_value("media_stream_catalog_consumer_lag", {"topic": "ready", "partition": "1"}) == 2
