"""The Runtime's telemetry: a TracerProvider, a MeterProvider, the tracer
and the instruments, built from the standard ``OTEL_*`` variables.

Nothing here is installed as the OpenTelemetry global provider: Sage takes
its tracer and meter from its own providers, so two Runtimes in one process
(tests, an embedding application) keep separate telemetry, and an
application that configures the global providers for itself is not
overridden. (The one global the API imposes is the *current context*, a
contextvar inside ``opentelemetry.context``; Sage attaches spans to it only
inside plain coroutines, never across a generator's ``yield``.)

Off unless configured: with no OTLP endpoint and ``/metrics`` off, there is
no provider at all (``Observability.disabled``), and runs create no spans.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from opentelemetry.metrics import Meter, NoOpMeter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Tracer

from sagents.observability.metrics import Metrics
from sagents.observability.processor import RunBatchProcessor
from sagents.settings import Settings

log = logging.getLogger(__name__)

SCOPE = "sagents"
"""The instrumentation scope name of every span and metric Sage records."""


@dataclass
class Observability:
    """Traces and metrics of one Runtime; ``tracer`` is None when tracing is off."""

    tracer: Tracer | None
    metrics: Metrics
    capture_content: bool = False
    """Record message and tool-call content on spans (the conventions'
    opt-in; ``SAGE_OTEL_CAPTURE_CONTENT``)."""
    provider_name: str = "openai"
    """``gen_ai.provider.name`` of the LLM endpoint."""
    server_address: str | None = None
    server_port: int | None = None
    prometheus: InMemoryMetricReader | None = None
    """Read by ``GET /metrics`` when ``SAGE_METRICS_ENABLED`` is on."""
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def tracing(self) -> bool:
        return self.tracer is not None

    @property
    def enabled(self) -> bool:
        """Anything to record: spans, or metrics for some reader."""
        return self.tracer is not None or self.meter_provider is not None

    @classmethod
    def disabled(cls) -> Observability:
        return cls(tracer=None, metrics=Metrics(NoOpMeter(SCOPE)))

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        span_processors: Sequence[SpanProcessor] = (),
        metric_readers: Sequence[MetricReader] = (),
        env: Mapping[str, str] | None = None,
    ) -> Observability:
        """Providers around the given processors and readers (tests pass
        an in-memory exporter), plus the Prometheus reader when
        ``settings.metrics_enabled``."""
        env = os.environ if env is None else env
        resource = _resource(env)
        tracer_provider = None
        tracer = None
        if span_processors:
            tracer_provider = TracerProvider(resource=resource)
            for processor in span_processors:
                tracer_provider.add_span_processor(processor)
            tracer = tracer_provider.get_tracer(SCOPE)
        readers = list(metric_readers)
        prometheus = None
        if settings.metrics_enabled:
            prometheus = InMemoryMetricReader()
            readers.append(prometheus)
        meter_provider = None
        meter: Meter = NoOpMeter(SCOPE)
        if readers:
            meter_provider = MeterProvider(resource=resource, metric_readers=readers)
            meter = meter_provider.get_meter(SCOPE)
        address, port = _server(settings)
        return cls(
            tracer=tracer,
            metrics=Metrics(meter),
            capture_content=settings.otel_capture_content,
            provider_name=provider_name(settings),
            server_address=address,
            server_port=port,
            prometheus=prometheus,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )

    @classmethod
    def from_environment(
        cls, settings: Settings, env: Mapping[str, str] | None = None
    ) -> Observability:
        """What the ``OTEL_*`` variables configure: OTLP/HTTP traces when
        ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set,
        OTLP metrics likewise (``..._METRICS_ENDPOINT``), neither when
        ``OTEL_SDK_DISABLED=true`` or the exporter variable says ``none``.
        The exporters read the rest themselves (``OTEL_EXPORTER_OTLP_HEADERS``,
        timeouts, compression), the provider ``OTEL_TRACES_SAMPLER`` and
        ``OTEL_SERVICE_NAME``."""
        env = os.environ if env is None else env
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls.build(settings, env=env) if settings.metrics_enabled else cls.disabled()
        processors: list[SpanProcessor] = []
        traces_url = _endpoint(env, "TRACES", "v1/traces")
        if traces_url is not None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter: SpanExporter = OTLPSpanExporter(endpoint=traces_url)
            processors.append(RunBatchProcessor(exporter))
        readers: list[MetricReader] = []
        metrics_url = _endpoint(env, "METRICS", "v1/metrics")
        if metrics_url is not None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=metrics_url)))
        if not processors and not readers and not settings.metrics_enabled:
            return cls.disabled()
        return cls.build(settings, span_processors=processors, metric_readers=readers, env=env)

    async def aclose(self) -> None:
        """Flush and stop the exporters (blocking HTTP: off the loop)."""
        if self._closed:
            return
        self._closed = True
        for provider in (self.tracer_provider, self.meter_provider):
            if provider is not None:
                try:
                    await asyncio.to_thread(provider.shutdown)
                except Exception:
                    log.warning("telemetry shutdown failed", exc_info=True)


def _resource(env: Mapping[str, str]) -> Resource:
    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES from the process itself;
    # the service name is "sage" unless OTEL_SERVICE_NAME or those attributes
    # name one.
    name = env.get("OTEL_SERVICE_NAME", "").strip()
    if name:
        return Resource.create({SERVICE_NAME: name})
    named = "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return Resource.create({} if named else {SERVICE_NAME: "sage"})


def _endpoint(env: Mapping[str, str], signal: str, path: str) -> str | None:
    """The OTLP/HTTP URL for one signal, as the OTLP exporter specification
    derives it: the signal's own variable as given, else the base endpoint
    with ``/v1/<signal>`` appended; None when the signal is turned off."""
    choice = env.get(f"OTEL_{signal}_EXPORTER", "otlp").strip().lower()
    if choice in ("none", ""):
        return None
    own = env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "").strip()
    if own:
        return own
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not base:
        return None
    return f"{base.rstrip('/')}/{path}"


def provider_name(settings: Settings) -> str:
    """``gen_ai.provider.name`` for the configured endpoint: the conventions'
    well-known value where the host says which it is, else ``openai`` (the
    protocol spoken; ``server.address`` tells the real server)."""
    if settings.llm_api_version:
        return "azure.ai.openai"
    url = (settings.llm_base_url or "").lower()
    for needle, name in (("deepseek", "deepseek"), ("groq", "groq"), ("mistral", "mistral_ai")):
        if needle in url:
            return name
    return "openai"


def _server(settings: Settings) -> tuple[str | None, int | None]:
    from urllib.parse import urlsplit

    url = settings.llm_base_url or "https://api.openai.com/v1"
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, None
    return parts.hostname, port
