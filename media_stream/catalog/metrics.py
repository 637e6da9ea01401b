"""The catalog processor's Prometheus metrics, on a registry of its own (one per processor, several
per test process), served by ``HealthServer`` on ``GET /metrics``.

Counters are bumped where things happen (a transaction commits or aborts, partitions move); the
lag gauge is sampled by the loop at most every ``sample_interval_s`` (from the watermarks the
consumer caches: no broker request), so the HTTP thread never reads consumer state.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge

from media_stream.observability.metrics import PartitionKey, loop_turned, set_per_partition


class CatalogMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, sample_interval_s: float = 1.0) -> None:
        self.registry = registry or CollectorRegistry()
        self.sample_interval_s = sample_interval_s
        r = self.registry
        self.entries = Counter("media_stream_catalog_entries", "Catalog entries written to the assets topic (committed).", registry=r)
        self.dead_letters = Counter("media_stream_catalog_dead_letters", "Outcomes that could not be folded, sent to the assets DLQ (committed).", registry=r)
        self.transactions = Counter("media_stream_catalog_transactions", "Kafka transactions by outcome (committed, aborted).", ["outcome"], registry=r)
        self.rebalances = Counter("media_stream_catalog_rebalances", "Partition changes by kind (assign, revoke, lost).", ["kind"], registry=r)
        self.consumer_lag = Gauge(
            "media_stream_catalog_consumer_lag", "Outcomes not yet consumed per assigned partition (high watermark - position).", ["topic", "partition"], registry=r
        )
        self.last_turn = Gauge("media_stream_catalog_loop_last_turn_timestamp_seconds", "Unix time of the processor loop's last turn.", registry=r)
        for outcome in ("committed", "aborted"):
            self.transactions.labels(outcome)
        for kind in ("assign", "revoke", "lost"):
            self.rebalances.labels(kind)
        self._lagging: set[PartitionKey] = set()
        self._next_sample = 0.0

    def committed(self, entries: int, dead_letters: int) -> None:
        self.transactions.labels("committed").inc()
        self.entries.inc(entries)
        self.dead_letters.inc(dead_letters)

    def aborted(self) -> None:
        self.transactions.labels("aborted").inc()

    def rebalance(self, kind: str) -> None:
        self.rebalances.labels(kind).inc()

    def sample_due(self, now: float | None = None) -> bool:
        """True at most once per ``sample_interval_s``: the loop then calls ``set_lag``."""
        due, self._next_sample = loop_turned(self.last_turn, self._next_sample, self.sample_interval_s, now)
        return due

    def set_lag(self, lag: Mapping[PartitionKey, int]) -> None:
        self._lagging = set_per_partition(self.consumer_lag, self._lagging, lag)
