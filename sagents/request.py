"""What a caller asks a run to do. Validated at the edge, so agents can trust it.

``system_context`` is data from the client: it is shown to the model as
quoted, untrusted context and is never used as a path, a command or a
credential.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sagents.wire_types import JSON_INTEGER, JsonBool, Utf8Str

ContextKey = Annotated[Utf8Str, StringConstraints(min_length=1, max_length=100)]
Name = Annotated[Utf8Str, StringConstraints(min_length=1, max_length=100)]
BLANK = " \t\n\v\f\r"
"""What a message may not consist of only. Spelled out (not ``str.isspace``)
so that ``NOT_BLANK`` means the same in every regex dialect."""
NOT_BLANK = r"[^ \t\n\v\f\r]"
"""The schema's pattern for a message: at least one character not in BLANK."""


class Workflow(BaseModel):
    """A known way of doing a kind of task, given to the planner as guidance."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Utf8Str = Field(default="", max_length=2000)
    steps: list[Annotated[Utf8Str, StringConstraints(max_length=2000)]] = Field(
        default_factory=list, max_length=50
    )


class RunOptions(BaseModel):
    """Flags that steer the flow; ``None`` means "let Sage decide".

    Flags and counts accept what their JSON schema says (``0`` is not
    ``false``; see ``sagents.wire_types``).
    """

    model_config = ConfigDict(extra="forbid")

    deep_thinking: JsonBool | None = None
    multi_agent: JsonBool | None = None
    max_loop_count: Annotated[int, Field(ge=1, le=100), JSON_INTEGER] | None = None
    more_suggest: JsonBool = False
    force_summary: JsonBool = False
    available_tools: list[Utf8Str] | None = Field(
        default=None, description="Allow-list of tool names for this run; null means every tool."
    )
    available_workflows: list[Workflow] | None = Field(
        default=None, max_length=200, description="Workflows the planner may follow."
    )
    available_skills: list[Name] | None = Field(
        default=None, description="Allow-list of skill names for this run; null means all."
    )
    system_context: dict[ContextKey, Utf8Str] | None = Field(
        default=None, description="Extra context for the model, treated as untrusted data."
    )


class RunRequest(RunOptions):
    """One user turn plus its options."""

    message: Utf8Str = Field(
        description="The user's turn: not empty, not only spaces and line breaks.",
        min_length=1,
        json_schema_extra={"pattern": NOT_BLANK},
    )
    session_id: Utf8Str | None = Field(
        default=None,
        max_length=200,
        description="Continue this session; a new one is created when absent.",
    )

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # The check the schema's pattern documents, with a readable message.
        if not value.strip(BLANK):
            raise ValueError("message must not be empty")
        return value

    def options(self) -> RunOptions:
        """Just the flags, without the turn itself (or fields a subclass adds)."""
        return RunOptions.model_validate(self.model_dump(include=set(RunOptions.model_fields)))
