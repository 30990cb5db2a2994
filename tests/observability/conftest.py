"""Runtimes whose spans land in the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sagents.observability import Observability
from sagents.runtime import Runtime
from sagents.settings import Settings
from sagents.testing import ScriptedLLM
from sagents.tools import ToolManager
from tests.conftest import make_settings


class Traced:
    """A runtime with its span exporter and metric reader."""

    def __init__(self, rt: Runtime, spans: InMemorySpanExporter, metrics: InMemoryMetricReader):
        self.rt = rt
        self.exporter = spans
        self.reader = metrics

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]


TracedFactory = Callable[..., Any]


@pytest.fixture
async def traced(tmp_path: Path) -> AsyncIterator[TracedFactory]:
    built: list[Runtime] = []

    async def factory(
        llm: ScriptedLLM, tools: ToolManager | None = None, **overrides: Any
    ) -> Traced:
        settings: Settings = make_settings(tmp_path, **overrides)
        exporter = InMemorySpanExporter()
        reader = InMemoryMetricReader()
        obs = Observability.build(
            settings, span_processors=[SimpleSpanProcessor(exporter)], metric_readers=[reader]
        )
        rt = await Runtime.create(settings, llm=llm, tools=tools, observability=obs)
        built.append(rt)
        return Traced(rt, exporter, reader)

    yield factory
    for rt in built:
        await rt.aclose()
