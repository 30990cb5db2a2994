"""The script language shared by ``ScriptedLLM`` and the mock HTTP server.

One script drives both, so a test can start in-process and move to the real
HTTP path (or the other way round) without rewriting what the "LLM" says.
Scripts are plain JSON so they can live next to a test or be handed to
``sage mock-llm --script FILE``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RejectableParameter = Literal["stream_options", "parallel_tool_calls", "tool_choice", "strict"]


class Usage(BaseModel):
    """Token usage to report instead of the counted one."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)


class ScriptedToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class Faults(BaseModel):
    """Failures to inject into a turn.

    ``http_status``, ``hang`` and ``cut_after_chunks`` make an *attempt* fail;
    they hit the first ``fail_times`` attempts at the turn, and the turn stays
    in the script until an attempt succeeds, so retries can be tested.
    ``retry_after`` is sent as the ``Retry-After`` header of an
    ``http_status`` answer (seconds, or an HTTP date). Delays and
    ``malformed_json`` apply to every attempt.
    """

    model_config = ConfigDict(extra="forbid")

    http_status: int | None = Field(default=None, ge=400, le=599)
    retry_after: str | None = Field(default=None, max_length=100)
    fail_times: int = Field(default=1, ge=0)
    first_token_delay_s: float = Field(default=0.0, ge=0)
    token_delay_s: float = Field(default=0.0, ge=0)
    cut_after_chunks: int | None = Field(default=None, ge=0)
    malformed_json: bool = False
    hang: bool = False

    @property
    def fails_attempts(self) -> bool:
        return self.http_status is not None or self.hang or self.cut_after_chunks is not None


class Turn(BaseModel):
    """One answer of the scripted LLM.

    ``role`` restricts the turn to requests made for that agent role; ``None``
    answers any role. ``json`` is an answer given as data: it is streamed as
    its JSON text, which keeps scripts for deciding agents readable.
    """

    model_config = ConfigDict(extra="forbid")

    role: str | None = None
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    json_: Any = Field(default=None, alias="json")
    usage: Usage | None = None
    finish_reason: str | None = None
    faults: Faults = Field(default_factory=Faults)

    @model_validator(mode="after")
    def _text_or_json(self) -> Turn:
        if self.text and self.json_ is not None:
            raise ValueError("a turn has either text or json, not both")
        return self

    def content(self) -> str:
        """The text to stream, after ``json`` and the ``malformed_json`` fault."""
        text = json.dumps(self.json_, ensure_ascii=False) if self.json_ is not None else self.text
        if self.faults.malformed_json:
            # Cut in half and unterminated: no lenient parser can rescue it.
            return text[: max(1, len(text) // 2)] + ' "unterminated'
        return text

    def resolved_finish_reason(self) -> str:
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


class Script(BaseModel):
    """An ordered list of turns.

    ``reject_response_formats`` makes the LLM answer 400 to requests whose
    ``response_format.type`` is listed (e.g. ``["json_schema"]``), to test
    clients against servers without structured-output support.
    ``reject_parameters`` does the same for optional request parameters
    (``stream_options``, ``parallel_tool_calls``, ``tool_choice``, and
    ``strict`` for a tool declared strict), with ``reject_status`` (400 by
    default; servers also use 422, 500 and 501). Both are answered in the
    mock's dialect, naming the parameter as that server would.
    ``json_defaults`` (set by the default script) answers a request that asks
    for JSON with a schema-valid value instead of the turn's text.
    """

    model_config = ConfigDict(extra="forbid")

    turns: list[Turn] = Field(default_factory=list)
    cycle: bool = False
    reject_response_formats: list[str] = Field(default_factory=list)
    reject_parameters: list[RejectableParameter] = Field(default_factory=list)
    reject_status: int = Field(default=400, ge=400, le=599)
    json_defaults: bool = False

    @classmethod
    def load(cls, path: Path | str) -> Script:
        """A script from a JSON file: a ``Script`` object or just a list of turns."""
        return cls.coerce(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def coerce(cls, value: ScriptLike | dict[str, Any]) -> Script:
        """Accept the shapes tests find convenient to write: a ``Script``, a list
        of turns (models, dicts, or plain strings meaning text turns), or a
        script as a dict."""
        if isinstance(value, Script):
            return value
        if isinstance(value, dict):
            return cls.model_validate(value)
        if isinstance(value, str):
            raise TypeError("a script is a list of turns, not a string; wrap it in a list")
        return cls(
            turns=[
                Turn(text=turn) if isinstance(turn, str) else Turn.model_validate(turn)
                for turn in value
            ]
        )

    def rejects(self, response_format: Any) -> str | None:
        """The ``response_format`` type this script refuses, if the request uses one."""
        if not self.reject_response_formats or not isinstance(response_format, dict):
            return None
        kind = response_format.get("type")
        return kind if isinstance(kind, str) and kind in self.reject_response_formats else None

    def rejected_parameter(self, body: dict[str, Any]) -> str | None:
        """The first ``reject_parameters`` entry this request body uses."""
        for name in self.reject_parameters:
            if name == "strict":
                tools = body.get("tools")
                if isinstance(tools, list) and any(
                    isinstance(t, dict)
                    and isinstance(t.get("function"), dict)
                    and t["function"].get("strict") is True
                    for t in tools
                ):
                    return name
            elif name in body:
                return name
        return None


ScriptLike = Script | Sequence[Turn | dict[str, Any] | str]
"""What ``ScriptedLLM`` and ``MockLLMServer`` accept as a script."""

DEFAULT_SCRIPT_TEXT = "Hello from the Sage mock LLM."


def default_script() -> Script:
    """What ``sage mock-llm`` answers without a script: always the same greeting."""
    return Script(turns=[Turn(text=DEFAULT_SCRIPT_TEXT)], cycle=True, json_defaults=True)
