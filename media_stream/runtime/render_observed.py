"""A render call as an operator sees it: timed into the render-seconds and batch-size histograms
(by backend and size) and, when tracing, one ``render`` span per job under the job's span."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from media_stream.observability.metrics import AgentMetrics, backend_label, size_label
from media_stream.observability.tracing import end_span
from media_stream.runtime.scheduler import Job


def render_observed(metrics: AgentMetrics, medium: Any, batch: Sequence[Job], render: Callable[[Sequence[Job]], list[Any]]) -> list[Any]:
    step = batch[0].step
    backend, size = backend_label(medium, step), size_label(step)
    attributes = {"media_stream.backend": backend, "media_stream.size": size, "media_stream.batch_size": len(batch)}
    spans = [job.span.render_span({**attributes, "media_stream.step": job.next_step}) if job.span else None for job in batch]
    results: list[Any] = []
    try:
        with metrics.render(backend, size, len(batch)):
            results = render(batch)
        return results
    finally:
        for span, result in zip(spans, results or [None] * len(spans)):
            end_span(span, result if isinstance(result, BaseException) else None)
