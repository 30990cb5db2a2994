"""The OpenAI chat completions shapes the facade reads and writes.

Requests are validated leniently where clients differ (unknown sampling
fields are accepted and ignored: Sage's agents choose their own) and
strictly where a silent misreading would change the answer (a second choice,
client-side tools, non-text content are refused with a 400 that says so).
Errors use OpenAI's body, ``{"error": {"message", "type", "param", "code"}}``,
because that is what the SDKs parse.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class FacadeError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text; any part that is not text is refused."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        texts = []
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise FacadeError(
                    400,
                    f"content part of type '{part.type}' is not supported; Sage takes text only",
                    param="messages",
                )
            texts.append(part.text)
        return "".join(texts)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=10_000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, ge=1)
    tools: list[dict[str, Any]] | None = None

    def check_supported(self) -> None:
        if self.n is not None and self.n > 1:
            raise FacadeError(400, "n > 1 is not supported: a run has one answer", param="n")
        if self.tools:
            raise FacadeError(
                400,
                "client-side tools are not supported: Sage calls its own tools "
                "(see GET /api/v1/tools)",
                param="tools",
            )


def usage_json(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
