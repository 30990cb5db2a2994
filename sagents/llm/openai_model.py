"""The ``ChatModel`` for any OpenAI-compatible endpoint, over the openai SDK.

One instance serves the whole process: it owns the single HTTP connection pool
that every run shares, so hundreds of concurrent runs reuse warm connections
instead of each opening its own. The SDK's own retries are off because they
would also retry after output had started streaming; Sage retries only before
the first chunk, where a retry is invisible to the user.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx2
import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from sagents.llm.errors import (
    LLMError,
    LLMNotConfigured,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
)
from sagents.llm.retry import backoff_delay, is_retryable
from sagents.llm.types import (
    LLMChunk,
    LLMRequest,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from sagents.settings import NOT_CONFIGURED_MESSAGE, Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"

_PLACEHOLDER_API_KEY = "sage-no-key"
"""Sent when no key is configured: the SDK refuses an empty key (and would
otherwise read ``OPENAI_API_KEY`` from the environment), while local servers
such as Ollama or llama.cpp need none."""

ROLE_HEADER = "X-Sage-Role"

_STREAM_ERRORS = (openai.OpenAIError, TimeoutError, json.JSONDecodeError)
"""What a failing call or stream raises; anything else is a bug and propagates."""


class OpenAIChatModel:
    """Streams chat completions from one OpenAI-compatible endpoint."""

    def __init__(
        self, settings: Settings, *, http_client: httpx2.AsyncClient | None = None
    ) -> None:
        """``http_client`` lets an embedding application share its own pool;
        by default the model builds one sized by ``llm_max_connections``."""
        self.capabilities: dict[str, str] = {}
        self._settings = settings
        self._base_url = settings.llm_base_url or DEFAULT_BASE_URL
        self._client: AsyncOpenAI | None = None
        self._http: httpx2.AsyncClient | None = None
        self._owns_http = http_client is None
        self._closed = False
        if not settings.llm_configured:
            return
        timeout = httpx2.Timeout(
            connect=settings.llm_connect_timeout_s,
            # Stalls are bounded by our own first-chunk and whole-call
            # deadlines; this only backs them up at the socket level.
            read=settings.llm_timeout_s,
            write=settings.llm_timeout_s,
            pool=settings.llm_timeout_s,
        )
        self._http = http_client or httpx2.AsyncClient(
            limits=httpx2.Limits(
                max_connections=settings.llm_max_connections,
                max_keepalive_connections=settings.llm_max_connections,
            ),
            timeout=timeout,
            follow_redirects=True,
        )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        self._client = AsyncOpenAI(
            api_key=key or _PLACEHOLDER_API_KEY,
            base_url=self._base_url,
            max_retries=0,
            timeout=timeout,
            http_client=self._http,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIChatModel:
        return cls(settings)

    @property
    def base_url(self) -> str:
        return self._base_url

    def model_for(self, role: str) -> str:
        return self._settings.model_for(role)

    async def aclose(self) -> None:
        """Close the connection pool (unless it was handed in by the caller)."""
        self._closed = True
        if self._client is not None and self._owns_http:
            await self._client.close()
        self._client = None

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        if self._closed:
            raise RuntimeError("this OpenAIChatModel was closed (aclose) and cannot stream")
        client = self._client
        if client is None:
            raise LLMNotConfigured(NOT_CONFIGURED_MESSAGE)
        model = self.model_for(request.role)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.llm_timeout_s
        response, chunk = await self._open(client, self._create_kwargs(request, model), deadline)

        chunks = 0
        text_chars = 0
        finish: str | None = None
        try:
            while True:
                chunks += 1
                # The hot path: one pass per streamed token, so only attribute
                # reads on the SDK's (unvalidated) chunk objects.
                if chunk.choices:
                    choice = chunk.choices[0]
                    delta = choice.delta
                    content = delta.content
                    if content:
                        text_chars += len(content)
                        yield TextDelta(content)
                    extra = delta.model_extra
                    if extra:
                        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
                        if reasoning and isinstance(reasoning, str):
                            yield ReasoningDelta(reasoning)
                    if delta.tool_calls:
                        for call in delta.tool_calls:
                            fn = call.function
                            yield ToolCallDelta(
                                index=call.index,
                                id=call.id,
                                name=fn.name if fn is not None else None,
                                arguments=(fn.arguments or "") if fn is not None else "",
                            )
                    if choice.finish_reason:
                        finish = choice.finish_reason
                usage = chunk.usage
                if usage is not None:
                    yield UsageReport(model, usage.prompt_tokens, usage.completion_tokens)
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await response.__anext__()
                except StopAsyncIteration:
                    break
        except _STREAM_ERRORS as exc:
            raise self._broken(exc, chunks, text_chars) from exc
        finally:
            # Also reached when the consuming task is cancelled or the caller
            # closes this generator: the HTTP response must not outlive it.
            await response.close()
        if finish is None:
            raise LLMStreamBroken(
                f"the LLM stream from {self._base_url} broke after {chunks} chunks "
                f"({text_chars} characters of text): it ended without a finish_reason"
            )
        yield StreamEnd(finish_reason=finish, model=model)

    def _create_kwargs(self, request: LLMRequest, model: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "extra_headers": {ROLE_HEADER: request.role},
        }
        if request.tools:
            kwargs["tools"] = request.tools
            if request.tool_choice:
                kwargs["tool_choice"] = request.tool_choice
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.extra:
            kwargs["extra_body"] = request.extra
        return kwargs

    async def _open(
        self, client: AsyncOpenAI, kwargs: dict[str, Any], deadline: float
    ) -> tuple[AsyncStream[ChatCompletionChunk], ChatCompletionChunk]:
        """Send the request and wait for the first chunk, retrying transient
        failures; nothing has reached the caller yet, so a retry is invisible."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            first_deadline = min(deadline, loop.time() + settings.llm_first_chunk_timeout_s)
            stream: AsyncStream[ChatCompletionChunk] | None = None
            try:
                async with asyncio.timeout_at(first_deadline):
                    stream = cast(
                        "AsyncStream[ChatCompletionChunk]",
                        await client.chat.completions.create(**kwargs),
                    )
                    first = await stream.__anext__()
                return stream, first
            except BaseException as exc:
                if stream is not None:
                    await stream.close()
                if isinstance(exc, StopAsyncIteration):
                    error: LLMError = LLMUnavailable(
                        f"The LLM at {self._base_url} returned an empty stream."
                    )
                elif isinstance(exc, _STREAM_ERRORS):
                    error = self._open_error(exc, hit_deadline=loop.time() >= deadline)
                else:
                    raise
                attempt += 1
                delay = backoff_delay(
                    attempt - 1, settings.llm_retry_base_delay_s, settings.llm_retry_max_delay_s
                )
                if (
                    not is_retryable(error)
                    or attempt > settings.llm_max_retries
                    or loop.time() + delay >= deadline
                ):
                    if attempt > 1 and isinstance(error, LLMUnavailable):
                        error = type(error)(
                            f"{error} (gave up after {attempt} attempts)",
                            status_code=error.status_code,
                        )
                    raise error from exc
            await asyncio.sleep(delay)

    def _open_error(self, exc: BaseException, *, hit_deadline: bool) -> LLMError:
        """Name a failure before the first chunk by what the user can do about it."""
        url = self._base_url
        settings = self._settings
        if isinstance(exc, TimeoutError):
            if hit_deadline:
                return LLMTimeout(
                    f"The LLM at {url} did not answer within {settings.llm_timeout_s:g} s."
                )
            return LLMTimeout(
                f"The LLM at {url} sent nothing within "
                f"{settings.llm_first_chunk_timeout_s:g} s (first-chunk timeout)."
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = _server_message(exc)
            if status == 429 or status >= 500:
                return LLMUnavailable(
                    f"The LLM at {url} answered HTTP {status}: {detail}", status_code=status
                )
            return LLMRequestRejected(
                f"The LLM at {url} rejected the request (HTTP {status}): {detail}{_hint(status)}",
                status_code=status,
            )
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeout(f"The LLM at {url} timed out: {_cause(exc)}")
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable(f"Could not reach the LLM at {url}: {_cause(exc)}")
        return LLMUnavailable(f"The LLM at {url} failed: {_cause(exc)}")

    def _broken(self, exc: BaseException, chunks: int, text_chars: int) -> LLMError:
        received = f"{chunks} chunks ({text_chars} characters of text)"
        if isinstance(exc, TimeoutError):
            return LLMTimeout(
                f"The LLM at {self._base_url} did not finish within "
                f"{self._settings.llm_timeout_s:g} s; it had sent {received}."
            )
        return LLMStreamBroken(
            f"the LLM stream from {self._base_url} broke after {received}: {_cause(exc)}"
        )


def _cause(exc: BaseException) -> str:
    """The most specific reason: the SDK wraps transport errors in a generic
    "Connection error." whose ``__cause__`` says what actually happened."""
    cause = exc.__cause__ or exc
    text = str(cause) or type(cause).__name__
    return f"{type(cause).__name__}: {text}" if cause is not exc else text


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    return exc.message


def _hint(status: int) -> str:
    if status in (401, 403):
        return " — check SAGE_LLM_API_KEY."
    if status == 404:
        return " — check SAGE_LLM_BASE_URL and the model name (SAGE_LLM_MODEL)."
    return ""
