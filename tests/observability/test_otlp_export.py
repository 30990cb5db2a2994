"""Spans leave over OTLP/HTTP as the OTEL_* variables say: a receiver on
loopback decodes the protobuf requests that arrive."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from sagents.observability import Observability
from sagents.request import RunRequest
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, Turn
from tests.conftest import make_settings


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                headers = {k.lower(): v for k, v in self.headers.items()}
                received.append((self.path, headers, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


async def test_spans_arrive_at_an_otlp_http_receiver(tmp_path: Path, receiver: Receiver) -> None:
    settings = make_settings(tmp_path)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "sage-under-test"}
    obs = Observability.from_environment(settings, env)
    assert obs.tracing
    rt = await Runtime.create(
        settings, llm=ScriptedLLM([Turn(role="simple", text="Hi.")]), observability=obs
    )
    try:
        request = RunRequest(message="hello", deep_thinking=False, multi_agent=False)
        events = [e async for e in SAgent(rt).run_stream(request, "u1")]
    finally:
        await rt.aclose()  # flushes the batch processor
    assert events[-1].type == "run.finished"
    paths = [path for path, _, _ in receiver.requests]
    assert set(paths) == {"/v1/traces", "/v1/metrics"}
    assert paths.count("/v1/traces") == 1  # the run's spans went in one batch
    spans = []
    metric_names: set[str] = set()
    for path, headers, body in receiver.requests:
        assert headers["content-type"] == "application/x-protobuf"
        if path == "/v1/metrics":
            exported = ExportMetricsServiceRequest.FromString(body)
            for rm in exported.resource_metrics:
                for sm in rm.scope_metrics:
                    metric_names.update(m.name for m in sm.metrics)
            continue
        decoded = ExportTraceServiceRequest.FromString(body)
        for resource_spans in decoded.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert attrs["service.name"] == "sage-under-test"
            for scope in resource_spans.scope_spans:
                assert scope.scope.name == "sagents"
                spans.extend(scope.spans)
    names = {s.name for s in spans}
    assert {"invoke_workflow default", "invoke_agent simple", "chat scripted-simple"} <= names
    assert {s.trace_id.hex() for s in spans} == {events[0].trace_id}
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"} <= metric_names
    assert {"sage.runs.started", "sage.runs.ended", "sage.run.duration"} <= metric_names


def test_nothing_configured_means_no_telemetry(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert not Observability.from_environment(settings, {}).enabled
    off = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"}
    assert not Observability.from_environment(settings, off).enabled
    no_traces = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_TRACES_EXPORTER": "none",
    }
    obs = Observability.from_environment(settings, no_traces)
    assert not obs.tracing
