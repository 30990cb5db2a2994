"""Which scripted turn answers the next request.

Kept apart from the script data so the in-process ``ScriptedLLM`` and the
mock HTTP server hand out turns by exactly the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagents.llm.errors import LLMError
from sagents.testing.script import Script, Turn


class ScriptExhausted(LLMError):
    """No turn is left for a request: the test asked the LLM more than it scripted."""


@dataclass(slots=True, frozen=True)
class Pick:
    """A turn handed out for one attempt.

    ``failing`` says whether this attempt gets the turn's failing fault
    (``http_status``, ``hang``, ``cut_after_chunks``); ``first_call_number``
    numbers generated tool-call ids (``call_<n>``) uniquely per script.
    """

    turn: Turn
    index: int
    attempt: int
    failing: bool
    first_call_number: int


class ScriptCursor:
    """Hands out the first unconsumed turn matching the requested role.

    A turn is consumed by an attempt that succeeds; an attempt that gets a
    failing fault leaves it in place so the retry gets the same turn. Not
    thread-safe: the mock server serialises access with its own lock.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self._consumed = [False] * len(script.turns)
        self._attempts = [0] * len(script.turns)
        self._next_call = 1

    @property
    def remaining(self) -> int:
        """Turns not consumed yet (in the current cycle)."""
        return self._consumed.count(False)

    def take(self, role: str | None) -> Pick:
        """The turn for one attempt by ``role`` (``None`` matches any turn)."""
        index = self._find(role)
        if index is None and self.script.cycle and any(self._consumed):
            self._consumed = [False] * len(self.script.turns)
            self._attempts = [0] * len(self.script.turns)
            index = self._find(role)
        if index is None:
            raise ScriptExhausted(self._exhausted_message(role))
        turn = self.script.turns[index]
        self._attempts[index] += 1
        attempt = self._attempts[index]
        failing = turn.faults.fails_attempts and attempt <= turn.faults.fail_times
        if not failing:
            self._consumed[index] = True
        first_call = self._next_call
        self._next_call += len(turn.tool_calls)
        return Pick(turn, index, attempt, failing, first_call)

    def _find(self, role: str | None) -> int | None:
        for index, turn in enumerate(self.script.turns):
            if self._consumed[index]:
                continue
            if role is None or turn.role is None or turn.role == role:
                return index
        return None

    def _exhausted_message(self, role: str | None) -> str:
        who = f"role {role!r}" if role is not None else "a request without a role"
        total = len(self.script.turns)
        return (
            f"The LLM script has no turn left for {who} "
            f"({total} turn(s), {total - self.remaining} used). "
            "Add a turn for it, or set cycle=True."
        )
