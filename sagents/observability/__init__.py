"""Observability: OpenTelemetry traces and metrics named as the GenAI
semantic conventions say, trace ids in events and logs, secret redaction,
and the JSON-lines session export.

``Observability`` (one per Runtime) holds the providers; ``RunTelemetry``
(one per run) the run's span tree; ``TracedChatModel`` records LLM calls.
"""

from sagents.observability.run_telemetry import RunTelemetry, new_trace_id
from sagents.observability.setup import Observability
from sagents.observability.traced_llm import TracedChatModel

__all__ = ["Observability", "RunTelemetry", "TracedChatModel", "new_trace_id"]
