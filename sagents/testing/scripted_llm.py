"""An in-process ``ChatModel`` that answers from a script.

Agent and flow tests use it to run real orchestration code without a network:
it streams token by token like a real model, raises the same ``LLMError``s the
OpenAI client raises for the same faults, and records every request so a test
can assert exactly what history each agent sent.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import AsyncIterator

from sagents.llm.capabilities import Capabilities
from sagents.llm.errors import (
    LLMError,
    LLMParameterUnsupported,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMUnavailable,
)
from sagents.llm.types import LLMChunk, LLMRequest, StreamEnd, UsageReport
from sagents.testing.cursor import ScriptCursor
from sagents.testing.render import render_turn, turn_usage
from sagents.testing.script import Script, ScriptLike
from sagents.testing.strict import tool_pairing_violation


class ScriptedLLM:
    """Answers each request with the next scripted turn for its role."""

    def __init__(self, script: ScriptLike | None = None, *, strict: bool = True) -> None:
        """``strict`` (the default) rejects a history whose tool calls and
        results do not pair up, as OpenAI does (``sagents.testing.strict``)."""
        self.strict = strict
        self.capabilities = Capabilities("scripted")
        self.requests: list[LLMRequest] = []
        """Every request received, in order, with its messages deep-copied
        at the time of the call (agents keep appending to their history)."""
        self.closed = False
        self._cursor = ScriptCursor(Script.coerce(script) if script is not None else Script())

    @property
    def script(self) -> Script:
        return self._cursor.script

    @property
    def remaining(self) -> int:
        """Turns not used yet, so a test can assert its script was played out."""
        return self._cursor.remaining

    def set_script(self, script: ScriptLike) -> None:
        """Replace the script; the request history is kept."""
        self._cursor = ScriptCursor(Script.coerce(script))

    def model_for(self, role: str) -> str:
        return f"scripted-{role}"

    def requests_for(self, role: str) -> list[LLMRequest]:
        return [request for request in self.requests if request.role == role]

    async def aclose(self) -> None:
        self.closed = True

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        self.requests.append(dataclasses.replace(request, messages=copy.deepcopy(request.messages)))
        violation = tool_pairing_violation(request.messages) if self.strict else None
        if violation is not None:
            raise LLMRequestRejected(
                f"The scripted LLM rejected the request (HTTP 400): {violation.message}"
                f" ({violation.param})",
                status_code=400,
            )
        rejected = self.script.rejects(request.response_format)
        if rejected is not None:
            raise LLMParameterUnsupported(
                f"The scripted LLM does not support response_format (HTTP 400): "
                f"response_format type {rejected!r} is not supported",
                400,
                ("response_format",),
            )
        pick = self._cursor.take(request.role)
        turn = pick.turn
        faults = turn.faults
        model = self.model_for(request.role)
        if pick.failing and faults.http_status is not None:
            raise _status_error(faults.http_status)
        if pick.failing and faults.hang:
            await asyncio.get_running_loop().create_future()  # only cancellation ends this
        if faults.first_token_delay_s:
            await asyncio.sleep(faults.first_token_delay_s)

        cut = faults.cut_after_chunks if pick.failing else None
        for number, chunk in enumerate(render_turn(turn, pick.first_call_number)):
            if cut is not None and number >= cut:
                break
            if number and faults.token_delay_s:
                await asyncio.sleep(faults.token_delay_s)
            yield chunk
        if cut is not None:
            raise LLMStreamBroken(
                f"the scripted LLM stream broke after {cut} chunks: injected cut_after_chunks fault"
            )
        input_tokens, output_tokens = turn_usage(turn, request.messages)
        yield UsageReport(model, input_tokens, output_tokens)
        yield StreamEnd(finish_reason=turn.resolved_finish_reason(), model=model)


def _status_error(status: int) -> LLMError:
    """The error the OpenAI client raises once it has given up on ``status``."""
    message = f"The scripted LLM answered HTTP {status}: injected fault"
    if status == 429 or status >= 500:
        return LLMUnavailable(message, status_code=status)
    return LLMRequestRejected(message, status_code=status)
