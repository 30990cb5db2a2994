"""What a caller asks a run to do. Validated at the edge, so agents can trust it.

``system_context`` is data from the client: it is shown to the model as
quoted, untrusted context and is never used as a path, a command or a
credential.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sagents.settings import BuiltinToolName
from sagents.wire_types import JSON_INTEGER, JsonBool, Utf8Str

if TYPE_CHECKING:
    from sagents.settings import Settings

_T = TypeVar("_T")
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
    """Flags that steer the flow. ``None`` means "not said": the operator's
    default applies (``SAGE_DEFAULT_*``, ``SAGE_SKILL_SELECTION``,
    ``SAGE_MAX_LOOP_COUNT``), and for ``deep_thinking`` / ``multi_agent``
    without a default the router decides.

    Flags and counts accept what their JSON schema says (``0`` is not
    ``false``; see ``sagents.wire_types``).
    """

    model_config = ConfigDict(extra="forbid")

    deep_thinking: JsonBool | None = Field(
        default=None,
        description="Analyse before acting; null: SAGE_DEFAULT_DEEP_THINKING, else the router.",
    )
    multi_agent: JsonBool | None = Field(
        default=None,
        description="Decompose into tasks; null: SAGE_DEFAULT_MULTI_AGENT, else the router.",
    )
    max_loop_count: Annotated[int, Field(ge=1, le=100), JSON_INTEGER] | None = Field(
        default=None, description="null: SAGE_MAX_LOOP_COUNT."
    )
    more_suggest: JsonBool | None = Field(
        default=None, description="Suggest follow-up questions; null: SAGE_DEFAULT_MORE_SUGGEST."
    )
    force_summary: JsonBool | None = Field(
        default=None,
        description="Summarise the simple path's answer; null: SAGE_DEFAULT_FORCE_SUMMARY.",
    )
    skill_selection: JsonBool | None = Field(
        default=None,
        description="Let an LLM call pick a fitting skill first; null: SAGE_SKILL_SELECTION.",
    )
    available_tools: list[Utf8Str] | None = Field(
        default=None, description="Allow-list of tool names for this run; null means every tool."
    )
    builtin_tools: list[BuiltinToolName] | None = Field(
        default=None,
        description="Which of the server's built-in tools (SAGE_BUILTIN_TOOLS) this run "
        "offers; null: all of them, []: none.",
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
    approve_plan: JsonBool | None = Field(
        default=None,
        description="Multi-agent runs: pause after decomposition until a person approves, "
        "edits or rejects the task list (approval.requested for call 'sage:plan').",
    )

    def resolved(self, settings: Settings) -> RunOptions:
        """These options with the operator's defaults filled in where the
        request said nothing (``deep_thinking`` and ``multi_agent`` stay
        ``None`` when there is no default: the router decides them)."""
        return self.model_copy(
            update={
                "deep_thinking": _given(self.deep_thinking, settings.default_deep_thinking),
                "multi_agent": _given(self.multi_agent, settings.default_multi_agent),
                "max_loop_count": self.max_loop_count or settings.max_loop_count,
                "more_suggest": _given(self.more_suggest, settings.default_more_suggest),
                "force_summary": _given(self.force_summary, settings.default_force_summary),
                "skill_selection": _given(self.skill_selection, settings.skill_selection),
            }
        )


def _given(value: _T | None, default: _T) -> _T:
    return default if value is None else value


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

    def options(self, settings: Settings | None = None) -> RunOptions:
        """Just the flags, without the turn itself (or fields a subclass adds);
        with ``settings``, resolved against the operator's defaults."""
        options = RunOptions.model_validate(self.model_dump(include=set(RunOptions.model_fields)))
        return options if settings is None else options.resolved(settings)
