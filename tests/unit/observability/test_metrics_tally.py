"""The agent's counts are its metrics: ``Agent.counters`` reads ``AgentMetrics.tally()``, so a
count and the series an operator scrapes can never disagree."""

from __future__ import annotations

from prometheus_client import generate_latest

from media_stream.observability.metrics import AgentMetrics


def test_the_tally_is_read_from_the_metrics() -> None:
    metrics = AgentMetrics(gpu=False)
    assert set(metrics.tally().values()) == {0}
    metrics.accepted.inc()
    metrics.accepted.inc()
    metrics.jobs.labels("completed").inc()
    metrics.dead_letters.labels("decode").inc()
    metrics.dead_letters.labels("control").inc(3)
    metrics.rebalance("assign")
    metrics.transaction(committed=True)
    metrics.transaction(committed=False)
    metrics.discarded.inc(5)
    tally = metrics.tally()
    assert tally["accepted"] == 2 and tally["completed"] == 1 and tally["failed"] == 0
    assert tally["dead_letters"] == 1 and tally["control_dead_letters"] == 3
    assert tally["assigned"] == 1 and tally["revoked"] == 0
    assert tally["transactions"] == 1  # committed ones only
    assert tally["discarded"] == 5
    scraped = generate_latest(metrics.registry).decode()
    assert "media_stream_requests_accepted_total 2.0" in scraped and "media_stream_discarded_messages_total 5.0" in scraped
