"""GPU utilisation and memory from NVML, read at scrape time, when ``pynvml`` (nvidia-ml-py) is
importable and a driver answers. Otherwise the metrics are simply absent: never an error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


class NvmlCollector:
    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml
        self.handles = [(i, nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(nvml.nvmlDeviceGetCount())]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        utilisation = GaugeMetricFamily("media_stream_gpu_utilization_ratio", "GPU busy share over the last sample period (NVML).", labels=["gpu"])
        used = GaugeMetricFamily("media_stream_gpu_memory_used_bytes", "GPU memory in use (NVML).", labels=["gpu"])
        total = GaugeMetricFamily("media_stream_gpu_memory_total_bytes", "GPU memory installed (NVML).", labels=["gpu"])
        for index, handle in self.handles:
            try:
                rates = self.nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = self.nvml.nvmlDeviceGetMemoryInfo(handle)
            except Exception as exc:  # noqa: BLE001 - a scrape never fails on the GPU
                log.debug("NVML read of GPU %d failed: %s", index, exc)
                continue
            utilisation.add_metric([str(index)], rates.gpu / 100.0)
            used.add_metric([str(index)], float(memory.used))
            total.add_metric([str(index)], float(memory.total))
        yield from (utilisation, used, total)


def register_gpu_collector(registry: CollectorRegistry) -> NvmlCollector | None:
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        collector = NvmlCollector(pynvml)
    except Exception as exc:  # noqa: BLE001 - no module, no driver, no GPU: no GPU metrics
        log.debug("no GPU metrics: %s", exc)
        return None
    if not collector.handles:
        return None
    registry.register(collector)
    return collector
