"""Span export, only when configured: ``observability.otlp_endpoint`` set and the OpenTelemetry SDK
and OTLP exporter importable (they are not core dependencies). Otherwise spans stay in the
no-op API and outcomes still carry the W3C ``traceparent`` of the request's trace."""

from __future__ import annotations

import logging
from typing import Any

from media_stream.config import ObservabilitySettings

log = logging.getLogger(__name__)


def configure_tracing(settings: ObservabilitySettings) -> Any:
    """The SDK TracerProvider installed globally, or None when export is off or impossible."""
    if not settings.otlp_endpoint:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # type: ignore[import-not-found]
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        log.warning("observability.otlp_endpoint is set but spans cannot be exported (%s): install opentelemetry-sdk and opentelemetry-exporter-otlp", exc)
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    trace.set_tracer_provider(provider)
    log.info("exporting spans to %s", settings.otlp_endpoint)
    return provider
