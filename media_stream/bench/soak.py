"""Soak: steady traffic for many minutes through one agent (the load rig), watching for slow leaks.

A sender thread publishes ImageRequested at a fixed rate over P projects; every ``sample_s`` the
soak records the process's RSS, the agent's consumer lag (high watermark - position, summed over
its partitions), the requests in the system (sent, not yet ended) and the latency percentiles of
that window. At the end it stops sending, waits for the last outcomes and reports the accounting
and the growth: RSS of the last quarter of the run against the first quarter after warm-up (the
first ``warmup_s``), also as MB per hour, and the latency of the first and last windows.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from media_stream.bench.load import LoadRig, peak_rss_mb, percentile, rss_mb
from media_stream.config import Settings


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _per_request(growth_mb: float | None, first: list[dict[str, Any]], last: list[dict[str, Any]]) -> float | None:
    """RSS growth divided by the requests that ended between the two quarters (their midpoints)."""
    if growth_mb is None or not first or not last:
        return None
    ended = _mean([s["ended"] for s in last]) - _mean([s["ended"] for s in first])  # type: ignore[operator]
    return round(growth_mb * 2**20 / ended) if ended > 0 else None


def soak_benchmark(settings: Settings, minutes: float = 30.0, rate: float = 50.0, projects: int = 500, sample_s: float = 10.0, warmup_s: float = 30.0, renderer: str = "null") -> dict[str, Any]:
    duration_s = minutes * 60
    samples: list[dict[str, Any]] = []
    all_latencies: list[float] = []
    with LoadRig(settings, renderer) as rig:
        stop = threading.Event()

        def sender() -> None:
            began = time.monotonic()
            while not stop.is_set():
                wait = began + rig.sent / rate - time.monotonic()
                if wait > 0:
                    stop.wait(wait)
                    continue
                rig.send(projects)

        thread = threading.Thread(target=sender, name="soak-sender", daemon=True)
        started = time.monotonic()
        thread.start()
        next_sample = started + sample_s
        while time.monotonic() - started < duration_s:
            time.sleep(max(0.0, min(next_sample, started + duration_s) - time.monotonic()))
            next_sample += sample_s
            window = rig.clock.take_latencies()
            all_latencies += window
            lag = sum(rig.agent.consumer.lag(set(rig.agent.assigned)).values())
            sample = {
                "t_s": round(time.monotonic() - started, 1),
                "rss_mb": round(rss_mb(), 1),
                "lag": lag,
                "in_system": rig.sent - rig.clock.ended,
                "ended": rig.clock.ended,
                "p50_ms": percentile(window, 50),
                "p99_ms": percentile(window, 99),
            }
            samples.append(sample)
            print(f"soak {sample}", file=sys.stderr, flush=True)
        stop.set()
        thread.join(10)
        rig.producer.flush()
        rig.clock.wait_for(rig.sent, timeout_s=120)
        time.sleep(1.0)
        all_latencies += rig.clock.take_latencies()
        accounting = rig.accounting()
        counters = dict(rig.agent.counters)
    steady = [s for s in samples if s["t_s"] >= min(warmup_s, duration_s / 4)] or samples
    quarter = max(1, len(steady) // 4)
    first, last = steady[:quarter], steady[-quarter:]
    rss_first, rss_last = _mean([s["rss_mb"] for s in first]), _mean([s["rss_mb"] for s in last])
    span_h = max((last[-1]["t_s"] - first[0]["t_s"]) / 3600, 1e-9) if steady else 1e-9
    growth = round(rss_last - rss_first, 1) if rss_first is not None and rss_last is not None else None
    return {
        "benchmark": "soak",
        "minutes": minutes,
        "rate_per_s": rate,
        "projects": projects,
        "renderer": renderer,
        "sample_s": sample_s,
        "rss_first_quarter_mb": rss_first,
        "rss_last_quarter_mb": rss_last,
        "rss_growth_mb": growth,
        "rss_growth_mb_per_h": round(growth / span_h, 1) if growth is not None else None,
        "rss_growth_bytes_per_request": _per_request(growth, first, last),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "lag_max": max((s["lag"] for s in samples), default=None),
        "lag_last": samples[-1]["lag"] if samples else None,
        "in_system_max": max((s["in_system"] for s in samples), default=None),
        "p50_ms": percentile(all_latencies, 50),
        "p99_ms": percentile(all_latencies, 99),
        "p99_first_window_ms": first[0]["p99_ms"] if first else None,
        "p99_last_window_ms": last[-1]["p99_ms"] if last else None,
        "agent_counters": counters,
        **accounting,
        "samples": samples,
    }
