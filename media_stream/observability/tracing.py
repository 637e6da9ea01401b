"""W3C trace context carried in Kafka headers, through the OpenTelemetry API: outcomes continue the
request's trace.

Per job the agent starts a ``process <topic>`` span (kind CONSUMER) whose parent is the context
extracted from the request's ``traceparent`` header; each step's render is a ``render`` span under
it, and the job's terminal outcomes are published under a ``publish`` span (kind PRODUCER). The
outcome messages carry the ``traceparent`` of the span they were made under, so a trace shows a
job from the client's publish to its last outcome, and a downstream consumer continues it.

Spans are recorded only when a tracer provider is configured (``observability.otlp_endpoint`` in
an agent, ``use_tracer_provider`` in tests); with the bare API nothing is recorded and outcomes
get a child ``traceparent`` of the request's (same trace id, a new span id), as before.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER_NAME = "media_stream.runtime"
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_PROPAGATOR = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_traceparent(parent: bytes | str | None) -> str:
    """Same trace id as ``parent`` with a new span id; a fresh trace when parent is absent or malformed."""
    if isinstance(parent, bytes):
        parent = parent.decode("ascii", "replace")
    match = _TRACEPARENT.fullmatch(parent or "")
    if not match or match.group(1) == "0" * 32:
        return new_traceparent()
    return f"00-{match.group(1)}-{secrets.token_hex(8)}-{match.group(3)}"


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Record the runtime's spans with ``provider`` (tests); None: the global provider again."""
    global _provider
    _provider = provider


def _active_provider() -> TracerProvider | None:
    provider = _provider or trace.get_tracer_provider()
    return None if isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider)) else provider


def extract(traceparent: bytes | str | None) -> Context:
    """The remote context a ``traceparent`` header names (an empty context when absent or malformed)."""
    if isinstance(traceparent, bytes):
        traceparent = traceparent.decode("ascii", "replace")
    return _PROPAGATOR.extract({"traceparent": traceparent} if traceparent else {})


class JobSpan:
    """The spans of one job; ``traceparent`` is what its outcomes carry."""

    def __init__(self, request_traceparent: bytes | str | None, topic: str, partition: int, offset: int) -> None:
        provider = _active_provider()
        self.tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
        self.span: Span | None = None
        if self.tracer is None:
            self.traceparent = child_traceparent(request_traceparent)
            return
        self.span = self.tracer.start_span(
            f"process {topic}",
            context=extract(request_traceparent),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation": "process",
                "messaging.destination.name": topic,
                "messaging.destination.partition.id": str(partition),
                "messaging.kafka.message.offset": offset,
            },
        )
        self.traceparent = inject(self.span)

    def identify(self, job_id: str, project_id: str) -> None:
        if self.span is not None:
            self.span.set_attributes({"media_stream.job_id": job_id, "media_stream.project_id": project_id})

    def render_span(self, attributes: Mapping[str, Any]) -> Span | None:
        """A ``render`` span under the job (started now; the caller ends it)."""
        if self.span is None or self.tracer is None:
            return None
        return self.tracer.start_span("render", context=trace.set_span_in_context(self.span), attributes=dict(attributes))

    def publish(self, status: str) -> str:
        """A ``publish`` span for the job's terminal outcomes; returns the traceparent they carry."""
        if self.span is None or self.tracer is None:
            return self.traceparent
        span = self.tracer.start_span(
            "publish", context=trace.set_span_in_context(self.span), kind=SpanKind.PRODUCER, attributes={"media_stream.status": status}
        )
        span.end()
        return inject(span)

    def end(self, status: str, error: str | None = None) -> None:
        if self.span is None:
            return
        self.span.set_attribute("media_stream.status", status)
        if error:
            self.span.set_status(Status(StatusCode.ERROR, error))
        self.span.end()


def end_span(span: Span | None, error: BaseException | None = None) -> None:
    if span is None:
        return
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.end()


def inject(span: Span) -> str:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent") or new_traceparent()
