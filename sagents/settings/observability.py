"""Settings of what Sage tells its operator: spans, metrics and log lines
(``sagents/observability/``).

Traces and OTLP metrics are configured by the standard ``OTEL_*`` variables,
not here; a new Sage-specific observability setting goes here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ObservabilitySettings(BaseModel):
    """Part of ``Settings``."""

    otel_capture_content: bool = Field(
        default=False,
        description="Record message and tool-call content on spans (the GenAI conventions' "
        "opt-in); off by default, since prompts and results may hold personal data.",
    )
    metrics_enabled: bool = Field(
        default=False,
        description="Serve Prometheus metrics on GET /metrics (behind the API keys when set).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="sage serve's log lines: text, or one JSON object per line.",
    )
