"""A session's messages grouped into units that keep every tool call with its
result, and the safety net that makes the history well-formed whatever the
store holds.

OpenAI, and most compatible servers, reject a request in which an assistant
message's ``tool_calls`` are not followed right away by one ``tool`` message
per call, or in which a ``tool`` message answers no preceding call (a 400,
and then on every later request of the session). Sage's own writes keep
that rule: a cancelled run gives its open calls a "cancelled" result, and
start-up recovery gives the calls of a crashed run an "interrupted" one. The
units are the second line, for what those cannot cover (a database written
by an older version, a crash between two commits of some future code path):

- a result joins the unit of the call it answers, however late it was stored,
  and units are sent in order, so a result always directly follows its call;
- a call without a result gets a synthetic "interrupted" result in the
  request. It is not stored: preparing a request is a read, and the record of
  what happened (shown to users, exported) is the store's, which recovery
  repairs at start-up;
- a result that answers no call (or answers one a second time) is left out.

A unit is dropped or kept whole when the history is cut to the token budget,
so the cut cannot separate a call from its result either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Message = dict[str, Any]
Price = Callable[[Message], int]
"""What a message costs: exact tokens, or an upper bound of them."""

MISSING_TOOL_RESULT = (
    "Interrupted: no result was recorded for this tool call, so whether it took effect is unknown."
)


def missing_result(call: Mapping[str, Any]) -> Message:
    """The result sent in place of one that was never stored, shaped like a
    stored tool message (``MessageRecord.to_openai``)."""
    function = call.get("function")
    name = function.get("name") if isinstance(function, Mapping) else None
    return {
        "role": "tool",
        "content": MISSING_TOOL_RESULT,
        "tool_call_id": call["id"],
        "name": name if isinstance(name, str) else "",
    }


class Units:
    """Built as messages arrive, with what each unit costs: in tokens, or in
    an upper bound of them, as the caller prices its messages.

    The cost of a unit counts a synthetic result for each of its calls that
    has no result yet, and swaps it for the real one when that arrives, so a
    budget check on a unit holds for what is actually sent.
    """

    __slots__ = (
        "_owner",
        "cost",
        "discarded",
        "in_order",
        "members",
        "missing",
        "of_message",
        "total",
        "user_units",
    )

    def __init__(self) -> None:
        self.members: list[list[int]] = []
        self.cost: list[int] = []
        self.of_message: list[int] = []
        """message index → its unit, or -1 for a discarded message."""
        self.user_units: list[int] = []
        """The units that start a turn (a user message), in order."""
        self.total = 0
        self.missing: dict[int, dict[str, tuple[Message, int]]] = {}
        """unit → its calls without a result: call id → (synthetic result, its cost)."""
        self.discarded = 0
        """Results that answer no call, or a call already answered; never sent."""
        self.in_order = True
        """Sending the messages as stored is the same as sending the units:
        no result was stored away from its call and none was discarded."""
        self._owner: dict[str, int] = {}

    def add(self, message: Message, tokens: int, price: Price | None = None) -> None:
        """Append the next message, which costs ``tokens``; ``price`` prices
        synthetic results the same way (without it they are free, for
        callers that do not budget)."""
        index = len(self.of_message)
        role = message.get("role")
        if role == "tool":
            self._add_result(index, message, tokens)
            return
        unit = len(self.members)
        self.members.append([index])
        self.cost.append(tokens)
        self.of_message.append(unit)
        self.total += tokens
        if role == "user":
            self.user_units.append(unit)
        elif role == "assistant":
            calls = message.get("tool_calls") or []
            open_calls: dict[str, tuple[Message, int]] = {}
            for call in calls:
                if not isinstance(call, dict) or not isinstance(call.get("id"), str):
                    continue
                synthetic = missing_result(call)
                cost = price(synthetic) if price is not None else 0
                # A repeated id within one message is answered once.
                if call["id"] not in open_calls:
                    open_calls[call["id"]] = (synthetic, cost)
                    self.cost[unit] += cost
                    self.total += cost
                self._owner[call["id"]] = unit
            if open_calls:
                self.missing[unit] = open_calls

    def _add_result(self, index: int, message: Message, tokens: int) -> None:
        call_id = message.get("tool_call_id")
        unit = self._owner.get(call_id) if isinstance(call_id, str) else None
        open_calls = self.missing.get(unit) if unit is not None else None
        if unit is None or open_calls is None or call_id not in open_calls:
            self.of_message.append(-1)
            self.discarded += 1
            self.in_order = False
            return
        _, placeholder = open_calls.pop(call_id)
        if not open_calls:
            del self.missing[unit]
        if unit != len(self.members) - 1:
            self.in_order = False
        self.members[unit].append(index)
        self.cost[unit] += tokens - placeholder
        self.total += tokens - placeholder
        self.of_message.append(unit)

    def emit(
        self,
        messages: Sequence[Message],
        units: Iterable[int],
        replaced: Mapping[int, Message] | None = None,
    ) -> tuple[list[Message], int]:
        """The messages of ``units`` (ascending) in the order to send them,
        with synthetic results for unanswered calls; and how many of those
        were added. ``replaced`` maps message index → a shortened version."""
        out: list[Message] = []
        synthesized = 0
        for unit in units:
            for i in self.members[unit]:
                out.append(replaced[i] if replaced and i in replaced else messages[i])
            for synthetic, _ in self.missing.get(unit, {}).values():
                out.append(synthetic)
                synthesized += 1
        return out, synthesized

    def emit_all(self, messages: Sequence[Message]) -> tuple[list[Message], int]:
        if self.in_order and not self.missing:
            return list(messages), 0
        return self.emit(messages, range(len(self.members)))


def well_formed(messages: Iterable[Message]) -> list[Message]:
    """``messages`` with every call followed by its result, as the units
    send them; for callers that send a history without fitting it."""
    stored = list(messages)
    units = Units()
    for message in stored:
        units.add(message, 0)
    return units.emit_all(stored)[0]
