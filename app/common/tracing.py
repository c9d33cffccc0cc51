"""OpenTelemetry tracing for FastAPI, psycopg and Redis, exported over OTLP/HTTP only when an
endpoint is configured (Jaeger does not run in the lab).

Without an exporter only the server span is made: it gives every log line a trace id at little
cost, while per-query database and Redis spans that nobody would collect cost about a third of
a booking's CPU. With an exporter, every layer is traced, sampled at `sample_ratio`.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from app.common.settings import TracingSettings

_instrumented = False


def setup_tracing(app: FastAPI, settings: TracingSettings, node: str) -> TracerProvider:
    global _instrumented  # noqa: PLW0603 - library instrumentation is process-wide, done once
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name, "host.name": node}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    exporting = bool(settings.otlp_endpoint)
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    if not _instrumented:
        trace.set_tracer_provider(provider)
        if exporting:
            PsycopgInstrumentor().instrument(enable_commenter=False)
            RedisInstrumentor().instrument()
        _instrumented = True
    # One server span per request; the per-message send/receive spans cost more than they tell.
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="healthz,readyz,metrics", exclude_spans=["receive", "send"]
    )
    return provider
