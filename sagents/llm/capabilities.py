"""What one LLM endpoint accepts, learned per model while Sage runs.

OpenAI-compatible servers accept different subsets of the request format.
Rather than a table of providers to keep up to date, Sage asks for the best
and steps down when refused: the structured-output mode (``json_schema`` →
``json_object`` → prompt), and the optional parameters it sends when it can
(``stream_options.include_usage``, ``parallel_tool_calls``, ``strict`` tool
schemas, ``tool_choice``). A refusal is learned once per model and
remembered for the life of the process, so each failing call is made once,
not once per run; each lesson is logged once, and ``sage doctor`` shows them.

One ``Capabilities`` belongs to one ``ChatModel`` (one endpoint), never to a
module global, so two runtimes in one process learn separately.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger("sagents.llm")

Feature = Literal["stream_options", "parallel_tool_calls", "strict_tools", "tool_choice"]
FEATURES: tuple[Feature, ...] = (
    "stream_options",
    "parallel_tool_calls",
    "strict_tools",
    "tool_choice",
)

StructuredMode = Literal["json_schema", "json_object", "prompt"]
STRUCTURED_MODES: tuple[StructuredMode, ...] = ("json_schema", "json_object", "prompt")
"""Ways to ask for JSON, from the most to the least reliable."""


@dataclass
class ModelCapabilities:
    structured: StructuredMode | None = None
    """The mode that worked, or ``None`` before the first structured call."""
    structured_reason: str = ""
    refused: dict[Feature, str] = field(default_factory=dict)
    """Optional parameters the endpoint refused, with the reason."""
    usage: Literal["reported", "estimated"] | None = None
    """Whether the provider reported token usage on its last stream."""


class Capabilities:
    """Per-model lessons about one endpoint."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._models: dict[str, ModelCapabilities] = {}

    def of(self, model: str) -> ModelCapabilities:
        known = self._models.get(model)
        if known is None:
            known = self._models[model] = ModelCapabilities()
        return known

    def allows(self, model: str, feature: Feature) -> bool:
        known = self._models.get(model)
        return known is None or feature not in known.refused

    def refuse(self, model: str, feature: Feature, reason: str) -> None:
        """Stop sending ``feature`` to ``model``; logged the first time only."""
        known = self.of(model)
        if feature in known.refused:
            return
        known.refused[feature] = reason
        log.warning(
            "The LLM at %s refused %s for model %s (%s); Sage no longer sends it.",
            self.endpoint,
            feature,
            model,
            reason,
        )

    def structured_mode(self, model: str) -> StructuredMode | None:
        known = self._models.get(model)
        return known.structured if known is not None else None

    def learn_structured(self, model: str, mode: StructuredMode, reason: str = "") -> None:
        """Record the mode that works; a step down is logged (once per step)."""
        known = self.of(model)
        if known.structured == mode:
            return
        stepped_down = reason != ""
        known.structured, known.structured_reason = mode, reason
        if stepped_down:
            log.warning(
                "The LLM at %s, model %s: %s; structured output uses %s from now on.",
                self.endpoint,
                model,
                reason,
                mode,
            )

    def note_usage(self, model: str, *, reported: bool) -> None:
        self.of(model).usage = "reported" if reported else "estimated"

    def report(self) -> dict[str, dict[str, Any]]:
        """Everything learned, per model, for ``sage doctor`` and logs."""
        return {
            model: {
                "structured_output": known.structured,
                "structured_output_reason": known.structured_reason or None,
                "refused": dict(known.refused),
                "usage": known.usage,
            }
            for model, known in sorted(self._models.items())
        }
