"""Prometheus text exposition (format 0.0.4) of the SDK's collected metrics.

Hand-written rather than ``opentelemetry-exporter-prometheus``: that
exporter registers its collector in ``prometheus_client``'s process-wide
default registry, so two Runtimes in one process (tests, an embedding
application) would collide or see each other's metrics, and it brings in a
second metrics library. Here each Runtime keeps an ``InMemoryMetricReader``
and ``GET /metrics`` renders what it collects: counters, up-down counters,
gauges and explicit-bucket histograms, which is every instrument Sage makes.

Names follow the OpenTelemetry-to-Prometheus rules: dots become
underscores, a unit of seconds adds ``_seconds``, monotonic sums end in
``_total``, annotation units (``{token}``) add nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    HistogramDataPoint,
    MetricsData,
    Sum,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes"}


def render(data: MetricsData | None) -> str:
    """The exposition text of everything in ``data``."""
    lines: list[str] = []
    if data is None:
        return ""
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                lines.extend(_metric(metric.name, metric.unit, metric.description, metric.data))
    return "\n".join(lines) + ("\n" if lines else "")


def metric_name(name: str, unit: str | None) -> str:
    base = _INVALID.sub("_", name)
    suffix = _UNITS.get(unit or "")
    if suffix and not base.endswith("_" + suffix):
        base = f"{base}_{suffix}"
    return base


def _metric(name: str, unit: str | None, description: str | None, data: Any) -> list[str]:
    base = metric_name(name, unit)
    help_line = f"# HELP {{name}} {_help(description or name)}"
    if isinstance(data, Sum):
        kind = "counter" if data.is_monotonic else "gauge"
        full = f"{base}_total" if data.is_monotonic else base
        out = [help_line.format(name=full), f"# TYPE {full} {kind}"]
        for point in data.data_points:
            out.append(f"{full}{_labels(point.attributes)} {_number(point.value)}")
        return out
    if isinstance(data, Gauge):
        out = [help_line.format(name=base), f"# TYPE {base} gauge"]
        for point in data.data_points:
            out.append(f"{base}{_labels(point.attributes)} {_number(point.value)}")
        return out
    if isinstance(data, Histogram):
        out = [help_line.format(name=base), f"# TYPE {base} histogram"]
        for bucketed in data.data_points:
            out.extend(_histogram(base, bucketed))
        return out
    return []


def _histogram(base: str, point: HistogramDataPoint) -> Iterable[str]:
    attributes = point.attributes or {}
    running = 0
    for bound, count in zip(point.explicit_bounds, point.bucket_counts, strict=False):
        running += count
        le = {"le": _number(bound)}
        yield f"{base}_bucket{_labels(attributes, le)} {running}"
    yield f"{base}_bucket{_labels(attributes, {'le': '+Inf'})} {point.count}"
    yield f"{base}_sum{_labels(attributes)} {_number(point.sum)}"
    yield f"{base}_count{_labels(attributes)} {point.count}"


def _labels(attributes: Mapping[str, Any] | None, extra: Mapping[str, str] | None = None) -> str:
    items = [(_INVALID.sub("_", k), str(v)) for k, v in (attributes or {}).items()]
    items.extend((extra or {}).items())
    if not items:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in items)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))
