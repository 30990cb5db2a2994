"""Settings of a run: the operator's defaults for what a request leaves out, and
how much a run may take and leave behind.

A new default for a run option (``sagents/request.py``), a limit on one run,
or a setting of how finished runs are kept for resumption goes here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class RunSettings(BaseModel):
    """Part of ``Settings``."""

    # Operator defaults for run options a request leaves out (sagents/request.py).
    default_deep_thinking: bool | None = Field(
        default=None,
        description="deep_thinking when a request does not say; unset lets the router decide.",
    )
    default_multi_agent: bool | None = Field(
        default=None,
        description="multi_agent when a request does not say; unset lets the router decide.",
    )
    default_more_suggest: bool = Field(
        default=False, description="more_suggest when a request does not say."
    )
    default_force_summary: bool = Field(
        default=False, description="force_summary when a request does not say."
    )
    skill_selection: bool = Field(
        default=True,
        description="Let an LLM call pick a fitting skill before answering (when skills are "
        "available); false keeps the skills and their tools but skips that call. A request's "
        "skill_selection overrides it.",
    )
    system_prompt: str | None = Field(
        default=None,
        max_length=100_000,
        description="Replaces Sage's built-in system prompt (the opening that says who the "
        "assistant is).",
    )

    # limits
    max_message_bytes: int = Field(default=1_000_000, ge=1)
    max_loop_count: int = Field(default=10, ge=1, le=1000)

    # finished runs kept for resumption (sagents/runs/)
    run_retention_s: float = Field(
        default=900.0, ge=0, description="How long a finished run's events stay resumable."
    )
    run_log_max_bytes: int = Field(
        default=16 * 2**20,
        ge=64 * 1024,
        description="Approximate bytes of events kept per run for resumption; past it the "
        "oldest are dropped (a resume before them gets 410).",
    )
    run_log_total_bytes: int = Field(
        default=256 * 2**20,
        ge=64 * 1024,
        description="Approximate bytes of events kept for all runs; past it finished runs "
        "are forgotten oldest first, before run_retention_s.",
    )
