"""The messages of one session, as the agents of a run see and extend them.

A message being streamed lives in a ``MessageDraft`` until it completes. The
drafts are what make cancellation safe: when a run is cancelled mid-stream,
``MessageManager.interrupt_open`` turns every open draft into a saved,
``interrupted`` message and gives every tool call that never got a result a
"cancelled" result, so the next request sends the LLM a valid history.

This class does no I/O; the ``SessionContext`` commits what it returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sagents.store.records import MessageRecord, new_id, now

CANCELLED_TOOL_RESULT = "Cancelled: the run was cancelled before this tool call returned a result."


@dataclass(slots=True)
class _ToolCallDraft:
    id: str
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def arguments_text(self) -> str:
        return "".join(self.arguments)


@dataclass(slots=True)
class MessageDraft:
    """An assistant message while it streams.

    It counts what it holds (``text_chars``, ``reasoning_chars``,
    ``arguments_chars``) so the streaming loop can enforce the per-message
    caps without re-measuring the parts on every chunk. A draft that was
    ``cut`` short by a cap is saved like an interrupted one: marked, and
    without tool calls whose arguments never finished.
    """

    id: str
    session_id: str
    run_id: str | None
    agent: str | None
    kind: str
    parts: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: dict[int, _ToolCallDraft] = field(default_factory=dict)
    created_at: float = field(default_factory=now)
    text_chars: int = 0
    reasoning_chars: int = 0
    arguments_chars: int = 0
    cut: bool = False
    """The model's output was not read to its end (a cap was hit)."""
    refused: dict[str, str] = field(default_factory=dict)
    """Tool calls that must not run, by call id, with the error result to give
    them (their arguments passed the cap and were thrown away)."""

    @property
    def content(self) -> str:
        return "".join(self.parts)

    def add_text(self, text: str) -> None:
        self.parts.append(text)
        self.text_chars += len(text)

    def add_reasoning(self, text: str) -> None:
        self.reasoning.append(text)
        self.reasoning_chars += len(text)

    def refuse_call(self, index: int, error: str) -> _ToolCallDraft:
        """Drop the arguments of the call at ``index`` and mark it refused.

        The call stays in the message with empty arguments, so the history
        the model sees next is valid (every call gets a result) and the error
        result tells the model what happened, rather than the call vanishing.
        """
        call = self.tool_calls[index]
        self.arguments_chars -= sum(len(part) for part in call.arguments)
        call.name = call.name[:64]  # the longest name OpenAI allows
        call.arguments.clear()
        self.refused[call.id] = error
        self.cut = True
        return call

    def add_tool_delta(
        self, index: int, call_id: str | None, name: str | None, arguments: str
    ) -> tuple[_ToolCallDraft, bool]:
        """Merge one streamed fragment; returns the call and whether it is new."""
        call = self.tool_calls.get(index)
        created = call is None
        if call is None:
            call = _ToolCallDraft(id=call_id or new_id("call"))
            self.tool_calls[index] = call
        elif call_id and call.id != call_id and not call.name:
            call.id = call_id
        if name:
            call.name += name
            self.arguments_chars += len(name)  # a name streamed without end counts too
        if arguments:
            call.arguments.append(arguments)
            self.arguments_chars += len(arguments)
        return call, created

    def finished_tool_calls(self) -> list[dict[str, Any]]:
        """Tool calls in the OpenAI shape, in the order the model emitted them."""
        return [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text() or "{}"},
            }
            for _, call in sorted(self.tool_calls.items())
        ]

    def to_record(self, *, interrupted: bool = False) -> MessageRecord:
        interrupted = interrupted or self.cut
        tool_calls = self.finished_tool_calls()
        if interrupted:
            # A call whose arguments were still streaming was never made, and
            # half a JSON document would make the next request invalid.
            tool_calls = [c for c in tool_calls if _is_json(c["function"]["arguments"])]
        return MessageRecord(
            id=self.id,
            session_id=self.session_id,
            role="assistant",
            content=self.content or None,
            tool_calls=tool_calls or None,
            run_id=self.run_id,
            agent=self.agent,
            kind=self.kind,
            interrupted=interrupted,
            created_at=self.created_at,
            completed_at=now(),
        )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class MessageManager:
    """The ordered history of a session plus the drafts of the running turn."""

    def __init__(self, session_id: str, history: list[MessageRecord] | None = None) -> None:
        self.session_id = session_id
        self.messages: list[MessageRecord] = list(history or [])
        self._drafts: dict[str, MessageDraft] = {}
        self._open_tool_calls: dict[str, MessageRecord] = {}

    def __len__(self) -> int:
        return len(self.messages)

    def add(self, message: MessageRecord) -> MessageRecord:
        """Append a completed message and track tool-call pairing."""
        self.messages.append(message)
        if message.role == "assistant" and message.tool_calls:
            for call in message.tool_calls:
                self._open_tool_calls[call["id"]] = message
        elif message.role == "tool" and message.tool_call_id:
            self._open_tool_calls.pop(message.tool_call_id, None)
        return message

    def add_user(self, content: str, *, run_id: str | None) -> MessageRecord:
        return self.add(
            MessageRecord(
                id=new_id("msg"),
                session_id=self.session_id,
                role="user",
                content=content,
                run_id=run_id,
                completed_at=now(),
            )
        )

    def add_tool_result(
        self,
        call_id: str,
        tool: str,
        content: str,
        *,
        run_id: str | None,
        agent: str | None,
        interrupted: bool = False,
    ) -> MessageRecord:
        return self.add(
            MessageRecord(
                id=new_id("msg"),
                session_id=self.session_id,
                role="tool",
                content=content,
                tool_call_id=call_id,
                name=tool,
                run_id=run_id,
                agent=agent,
                interrupted=interrupted,
                completed_at=now(),
            )
        )

    def open_draft(self, *, run_id: str | None, agent: str | None, kind: str) -> MessageDraft:
        draft = MessageDraft(
            id=new_id("msg"), session_id=self.session_id, run_id=run_id, agent=agent, kind=kind
        )
        self._drafts[draft.id] = draft
        return draft

    def complete(self, draft: MessageDraft) -> MessageRecord:
        """Close a draft whose stream ended normally and append it."""
        self._drafts.pop(draft.id, None)
        return self.add(draft.to_record())

    def discard(self, draft: MessageDraft) -> None:
        self._drafts.pop(draft.id, None)

    def interrupt_open(self, *, run_id: str | None) -> list[MessageRecord]:
        """Save what a stopped run left open; returns the records to commit.

        Partial drafts become ``interrupted`` messages (empty ones are
        dropped), then every tool call without a result gets a cancelled
        result, so the history stays valid for the next request.
        """
        added: list[MessageRecord] = []
        for draft in list(self._drafts.values()):
            record = draft.to_record(interrupted=True)
            self._drafts.pop(draft.id, None)
            if record.content or record.tool_calls:
                added.append(self.add(record))
        for call_id, owner in list(self._open_tool_calls.items()):
            tool_name = next(
                (c["function"]["name"] for c in owner.tool_calls or [] if c["id"] == call_id), ""
            )
            added.append(
                self.add_tool_result(
                    call_id,
                    tool_name,
                    CANCELLED_TOOL_RESULT,
                    run_id=run_id,
                    agent=owner.agent,
                    interrupted=True,
                )
            )
        return added

    def to_openai(self) -> list[dict[str, Any]]:
        return [m.to_openai() for m in self.messages]
