"""Settings of the LLM endpoint: where it is, which models, how calls are bounded.

A setting about calling the model (``SAGE_LLM_*``) goes here, except the
context windows and image models, which decide what a prompt holds
(``context.py``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

DECIDER_ROLES = frozenset(
    {"router", "judge", "suggest", "memory", "workflow_select", "skill_select"}
)
"""Roles that make short decisions and default to the fast model."""


class LlmSettings(BaseModel):
    """Part of ``Settings``; read from ``SAGE_LLM_*``."""

    # LLM endpoint. These four names are public: users and scripts depend on them.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_fast_model: str | None = Field(
        default=None,
        description="Model for deciding roles (router, judge, …); defaults to llm_model.",
    )
    llm_role_models: dict[str, str] = Field(
        default_factory=dict, description="Explicit role → model overrides, as JSON."
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Whole-call timeout.")
    llm_connect_timeout_s: float = Field(default=10.0, gt=0)
    llm_first_chunk_timeout_s: float = Field(
        default=60.0, gt=0, description="Time allowed until the first streamed chunk."
    )
    llm_max_retries: int = Field(default=3, ge=0, le=10)
    llm_retry_base_delay_s: float = Field(default=0.5, ge=0)
    llm_retry_max_delay_s: float = Field(default=8.0, ge=0)
    llm_retry_after_max_s: float = Field(
        default=60.0,
        ge=0,
        description="Longest wait honoured from a 429/503 Retry-After (also bounded by the "
        "call's deadline).",
    )
    llm_max_connections: int = Field(default=1000, ge=1)
    # What one streamed message may hold (sagents/agents/streaming.py). Past
    # these the model's output is not read on: its stream is closed.
    llm_max_answer_chars: int = Field(
        default=200_000,
        ge=1000,
        description="Cap on one message's answer text; past it the message is cut, "
        "marked and the run goes on (agent.notice output_truncated).",
    )
    llm_max_reasoning_chars: int = Field(
        default=200_000,
        ge=1000,
        description="Cap on one message's reasoning text; past it reasoning is no longer "
        "forwarded (agent.notice reasoning_truncated) and the answer is still read.",
    )
    llm_max_tool_args_chars: int = Field(
        default=200_000,
        ge=1000,
        description="Cap on the tool-call arguments of one message; the call that passes "
        "it is not made and gets an error result.",
    )
    llm_api_version: str | None = Field(
        default=None,
        description="Azure OpenAI API version; when set, SAGE_LLM_BASE_URL is the Azure "
        "endpoint and model names are deployment names.",
    )
    llm_organization: str | None = Field(
        default=None, description="OpenAI organization header (OpenAI-Organization)."
    )
    llm_project: str | None = Field(
        default=None, description="OpenAI project header (OpenAI-Project)."
    )
    llm_default_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra HTTP headers sent with every LLM request, as JSON (a gateway's "
        "routing or auth headers).",
    )

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_model) and bool(self.llm_base_url or self.llm_api_key)

    def model_for(self, role: str) -> str:
        if role in self.llm_role_models:
            return self.llm_role_models[role]
        if role in DECIDER_ROLES and self.llm_fast_model:
            return self.llm_fast_model
        return self.llm_model or ""
