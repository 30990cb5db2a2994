"""How OpenAI rejects a chat history whose tool calls and results do not pair
up, for the strict mode of the mock server and the scripted LLM.

A lenient mock would accept such a history and let a test pass that fails
against the real API with a 400 on every later request of the session (the
failure mode after a crash left a tool call without its result). The rules
and the error texts below are the ones OpenAI's chat completions endpoint
applies and sends (spelling included):

1. An assistant message with ``tool_calls`` must be followed, right after it,
   by a ``tool`` message for each of its call ids (in any order).
2. A ``tool`` message must answer a call of the assistant message the block
   of tool messages it stands in follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MISSING_RESULTS = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding"
    " to each 'tool_call_id'. The following tool_call_ids did not have response messages: {ids}"
)
ORPHAN_RESULT = (
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding"
    " message with 'tool_calls'."
)


@dataclass(frozen=True, slots=True)
class HistoryViolation:
    """Why a request's messages would be rejected, as OpenAI words it."""

    message: str
    param: str
    """Which message is at fault, in OpenAI's notation (``messages.[3].role``)."""

    def error_body(self) -> dict[str, Any]:
        """The 400 body OpenAI sends for it."""
        return {
            "error": {
                "message": self.message,
                "type": "invalid_request_error",
                "param": self.param,
                "code": None,
            }
        }


def tool_pairing_violation(messages: Any) -> HistoryViolation | None:
    """The first violation of the tool-call pairing rules in ``messages``
    (an OpenAI ``messages`` array), or None when the history is well-formed.

    Anything that is not a list of objects is left to other checks: this
    looks only at how calls and results pair up.
    """
    if not isinstance(messages, list):
        return None
    owner = -1
    """Index of the assistant message whose block of results is open, or -1."""
    expected: list[str] = []
    """Its call ids, in order."""
    answered: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "tool":
            if owner < 0 or message.get("tool_call_id") not in expected:
                return HistoryViolation(ORPHAN_RESULT, f"messages.[{index}].role")
            answered.add(str(message.get("tool_call_id")))
            continue
        if owner >= 0:
            missing = [i for i in expected if i not in answered]
            if missing:
                return _missing(owner, missing)
        owner, expected, answered = -1, [], set()
        calls = message.get("tool_calls") if role == "assistant" else None
        if isinstance(calls, list) and calls:
            owner = index
            expected = [str(c.get("id")) for c in calls if isinstance(c, dict)]
    if owner >= 0:
        missing = [i for i in expected if i not in answered]
        if missing:
            return _missing(owner, missing)
    return None


def _missing(owner: int, ids: list[str]) -> HistoryViolation:
    return HistoryViolation(MISSING_RESULTS.format(ids=", ".join(ids)), f"messages.[{owner}].role")
