"""A run's events as OpenAI chat completion chunks, or as one completion.

A batch of events (what the run published since the last write) becomes as
few chunks as it can: neighbouring text for the same field is joined, so a
burst of tokens is one chunk, as it is one SSE write in Sage's own stream.
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.openai_facade.reasoning import ReasoningText, answer_delta
from app.openai_facade.wire import FacadeError, usage_json
from sagents.events import EventBase, RunCancelled, RunFailed, RunFinished

DONE_FRAME = b"data: [DONE]\n\n"


def frame(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"


def end_error(event: EventBase) -> FacadeError | None:
    """How a run that did not finish is reported to an OpenAI client."""
    if isinstance(event, RunFailed):
        return FacadeError(
            502, event.message, type_="server_error", code=event.error_type.lower() or None
        )
    if isinstance(event, RunCancelled):
        return FacadeError(
            409, f"the run was cancelled: {event.reason}", type_="cancelled", code="cancelled"
        )
    return None


class CompletionStream:
    """Chunks for one run, in the order the client must see them."""

    def __init__(self, run_id: str, model: str, include_usage: bool) -> None:
        self.id = f"chatcmpl-{run_id}"
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage
        self.reasoning = ReasoningText()
        self.started = False

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def encode(self, batch: list[EventBase]) -> bytes:
        """The frames for one batch of events; the terminal event closes the stream."""
        out: list[bytes] = []
        if not self.started:
            self.started = True
            out.append(frame(self._chunk({"role": "assistant", "content": ""})))
        field, text = "", ""
        for event in batch:
            for name, piece in (
                ("reasoning_content", self.reasoning(event)),
                ("content", answer_delta(event)),
            ):
                if not piece:
                    continue
                if name != field and text:
                    out.append(frame(self._chunk({field: text})))
                    text = ""
                field = name
                text += piece
        if text:
            out.append(frame(self._chunk({field: text})))
        last = batch[-1] if batch else None
        if isinstance(last, RunFinished):
            out.append(frame(self._chunk({}, "stop")))
            if self.include_usage:
                usage = usage_json(last.usage.input_tokens, last.usage.output_tokens)
                out.append(frame({**self._chunk({}), "choices": [], "usage": usage}))
            out.append(DONE_FRAME)
        elif last is not None and (error := end_error(last)) is not None:
            # OpenAI's SDKs raise on an "error" object in the stream, so a
            # failed or cancelled run is never mistaken for a complete answer.
            out.append(frame(error.body()))
            out.append(DONE_FRAME)
        return b"".join(out)


class CompletionCollector:
    """Everything a non-streamed completion needs, gathered from the events."""

    def __init__(self) -> None:
        self.reasoning = ReasoningText()
        self.reasoning_text: list[str] = []
        self.answer: list[str] = []
        self.end: EventBase | None = None

    def add(self, event: EventBase) -> None:
        self.reasoning_text.append(self.reasoning(event))
        self.answer.append(answer_delta(event))
        if isinstance(event, RunFinished | RunFailed | RunCancelled):
            self.end = event

    def completion(self, run_id: str, model: str) -> dict[str, Any]:
        end = self.end
        if not isinstance(end, RunFinished):
            error = end_error(end) if end is not None else None
            raise error or FacadeError(500, "the run ended without an answer", type_="server_error")
        # The text a streaming client would have read, so both modes agree
        # (the run's own ``answer`` is only its last answer message).
        content = "".join(self.answer) or end.answer
        message: dict[str, Any] = {"role": "assistant", "content": content}
        reasoning = "".join(self.reasoning_text)
        if reasoning:
            message["reasoning_content"] = reasoning
        return {
            "id": f"chatcmpl-{run_id}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage_json(end.usage.input_tokens, end.usage.output_tokens),
        }
