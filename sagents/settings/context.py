"""Settings of what a run's prompt is built from: the history fitted to the
model's context window (``sagents/context/history.py``) and the user's
memories (``sagents/memory/``).

A new setting about token budgets, what a model accepts in a prompt, the
history, or memory extraction and recall goes here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from sagents.settings.parsing import comma_or_json_list


class ContextSettings(BaseModel):
    """Part of ``Settings``."""

    llm_context_windows: dict[str, int] = Field(
        default_factory=dict,
        description="Model (or model-name prefix) → context window in tokens, as JSON.",
    )
    llm_image_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Models (or model-name prefixes) that take image parts, comma-separated "
        "or a JSON list: images tool calls return (MCP) are sent to them in the run's next "
        "requests; other models get the images described (type and size).",
    )
    llm_context_window: int = Field(
        default=32_768, ge=1024, description="Context window of models not listed."
    )
    llm_output_reserve_tokens: int = Field(
        default=4096, ge=0, description="Tokens kept free for the answer (at most a quarter)."
    )
    history_recent_turns: int = Field(default=3, ge=1, description="Turns always sent.")
    history_cache_sessions: int = Field(default=256, ge=1)
    memory_enabled: bool = True
    memory_extract: bool = Field(
        default=True, description="Extract memories after each finished run."
    )
    memory_recall_k: int = Field(default=5, ge=0, le=50)
    memory_queue_size: int = Field(default=100, ge=1)
    chroma_url: str | None = Field(
        default=None, description="A Chroma server (http://host:port); empty = embedded."
    )

    @field_validator("llm_image_models", mode="before")
    @classmethod
    def _parse_image_models(cls, value: Any) -> Any:
        """Accept ``a,b`` as well as a JSON list."""
        return comma_or_json_list(value)
