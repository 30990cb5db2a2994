"""What a caller asks a run to do. Validated at the edge, so agents can trust it.

``system_context`` is data from the client: it is shown to the model as
quoted, untrusted context and is never used as a path, a command or a
credential.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

ContextKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Workflow(BaseModel):
    """A known way of doing a kind of task, given to the planner as guidance."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=2000)
    steps: list[Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=list, max_length=50
    )


class RunOptions(BaseModel):
    """Flags that steer the flow; ``None`` means "let Sage decide"."""

    model_config = ConfigDict(extra="forbid")

    deep_thinking: bool | None = None
    multi_agent: bool | None = None
    max_loop_count: int | None = Field(default=None, ge=1, le=100)
    more_suggest: bool = False
    force_summary: bool = False
    available_tools: list[str] | None = Field(
        default=None, description="Allow-list of tool names for this run; null means every tool."
    )
    available_workflows: list[Workflow] | None = Field(
        default=None, max_length=200, description="Workflows the planner may follow."
    )
    available_skills: list[Name] | None = Field(
        default=None, description="Allow-list of skill names for this run; null means all."
    )
    system_context: dict[ContextKey, str] | None = Field(
        default=None, description="Extra context for the model, treated as untrusted data."
    )


class RunRequest(RunOptions):
    """One user turn plus its options."""

    message: str = Field(description="The user's turn.")
    session_id: str | None = Field(
        default=None, description="Continue this session; a new one is created when absent."
    )

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must not be empty")
        return value

    def options(self) -> RunOptions:
        """Just the flags, without the turn itself (or fields a subclass adds)."""
        return RunOptions.model_validate(self.model_dump(include=set(RunOptions.model_fields)))
