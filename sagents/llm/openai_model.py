"""The ``ChatModel`` for any OpenAI-compatible endpoint, over one httpx2 pool.

One instance serves the whole process: it owns the single HTTP connection pool
that every run shares, so hundreds of concurrent runs reuse warm connections
instead of each opening its own. It speaks the chat completions wire format
itself (``sagents.llm.wire`` says why not through the openai SDK) and retries
only before the first chunk, where a retry is invisible to the user: once
output has started streaming, a failure is reported, never replayed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from sagents import __version__
from sagents.llm.errors import (
    LLMError,
    LLMNotConfigured,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
)
from sagents.llm.retry import backoff_delay, is_retryable
from sagents.llm.types import LLMChunk, LLMRequest, StreamEnd, TextDelta
from sagents.llm.wire import (
    DecodedBatch,
    ProviderStreamError,
    WireError,
    decode_batch,
    error_message,
    sse_batches,
)
from sagents.settings import NOT_CONFIGURED_MESSAGE, Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"

ROLE_HEADER = "X-Sage-Role"

MAX_ERROR_BODY = 64 * 1024
"""An error response is read up to this size for its message; a misconfigured
URL can point at something that answers a large HTML page."""

_STREAM_ERRORS = (httpx2.HTTPError, TimeoutError, WireError, ProviderStreamError)
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
        self._base_url = (settings.llm_base_url or DEFAULT_BASE_URL).rstrip("/")
        self._url = f"{self._base_url}/chat/completions"
        self._http: httpx2.AsyncClient | None = None
        self._owns_http = http_client is None
        self._closed = False
        self._headers: dict[str, str] = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "User-Agent": f"sage/{__version__}",
        }
        if settings.llm_api_key is not None and settings.llm_api_key.get_secret_value():
            # No key, no header: local servers (Ollama, llama.cpp, vLLM) need none.
            self._headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
        if not settings.llm_configured:
            return
        self._http = http_client or httpx2.AsyncClient(
            limits=httpx2.Limits(
                max_connections=settings.llm_max_connections,
                max_keepalive_connections=settings.llm_max_connections,
            ),
            timeout=httpx2.Timeout(
                connect=settings.llm_connect_timeout_s,
                # No socket read timeout: stalls are bounded by our own
                # first-chunk and per-chunk whole-call deadlines, and a read
                # timeout would arm and disarm one more timer on every read
                # of every stream (measurably slow with ~1,000 streams).
                read=None,
                write=settings.llm_timeout_s,
                pool=settings.llm_timeout_s,
            ),
            follow_redirects=True,
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
        if self._http is not None and self._owns_http:
            await self._http.aclose()
        self._http = None

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        if self._closed:
            raise RuntimeError("this OpenAIChatModel was closed (aclose) and cannot stream")
        http = self._http
        if http is None:
            raise LLMNotConfigured(NOT_CONFIGURED_MESSAGE)
        model = self.model_for(request.role)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.llm_timeout_s
        response, batches, decoded = await self._open(
            http, self._body(request, model), request.role, model, deadline
        )
        chunks = 0
        text_chars = 0
        finish: str | None = None
        try:
            while True:
                chunks += decoded.decoded
                for part in decoded.parts:
                    if type(part) is TextDelta:
                        text_chars += len(part.text)
                    yield part
                if decoded.error is not None:
                    raise decoded.error
                if decoded.finish is not None:
                    finish = decoded.finish
                try:
                    async with asyncio.timeout_at(deadline):
                        decoded = decode_batch(await anext(batches), model)
                except StopAsyncIteration:
                    break
        except _STREAM_ERRORS as exc:
            raise self._broken(exc, chunks, text_chars) from exc
        finally:
            # Also reached when the consuming task is cancelled or the caller
            # closes this generator: the HTTP response must not outlive it.
            await response.aclose()
        if finish is None:
            raise LLMStreamBroken(
                f"the LLM stream from {self._base_url} broke after {chunks} chunks "
                f"({text_chars} characters of text): it ended without a finish_reason"
            )
        yield StreamEnd(finish_reason=finish, model=model)

    def _body(self, request: LLMRequest, model: str) -> bytes:
        body: dict[str, Any] = {
            "model": model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            body["tools"] = request.tools
            if request.tool_choice:
                body["tool_choice"] = request.tool_choice
        if request.response_format is not None:
            body["response_format"] = request.response_format
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.extra:
            body.update(request.extra)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    async def _open(
        self, http: httpx2.AsyncClient, body: bytes, role: str, model: str, deadline: float
    ) -> tuple[httpx2.Response, AsyncIterator[list[bytes]], DecodedBatch]:
        """Send the request and wait for the first chunk, retrying transient
        failures; nothing has reached the caller yet, so a retry is invisible."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        headers = {**self._headers, ROLE_HEADER: role}
        attempt = 0
        while True:
            first_deadline = min(deadline, loop.time() + settings.llm_first_chunk_timeout_s)
            response: httpx2.Response | None = None
            try:
                async with asyncio.timeout_at(first_deadline):
                    response = await http.send(
                        http.build_request("POST", self._url, content=body, headers=headers),
                        stream=True,
                    )
                    if response.status_code >= 400:
                        raise await self._status_error(response)
                    batches = sse_batches(response.aiter_bytes())
                    first = decode_batch(await anext(batches), model)
                    if first.error is not None and not first.parts:
                        # The provider's error as its first word: nothing has
                        # reached the caller, so it is retried like a 5xx.
                        raise first.error
                return response, batches, first
            except BaseException as exc:
                if response is not None:
                    await response.aclose()
                if isinstance(exc, StopAsyncIteration):
                    error: LLMError = LLMUnavailable(
                        f"The LLM at {self._base_url} answered without any stream events; "
                        "is it an OpenAI-compatible chat completions endpoint?"
                    )
                elif isinstance(exc, LLMError):
                    error = exc
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

    async def _status_error(self, response: httpx2.Response) -> LLMError:
        """Name an HTTP error status by what the user can do about it."""
        status = response.status_code
        raw = bytearray()
        async for piece in response.aiter_bytes():
            raw += piece
            if len(raw) >= MAX_ERROR_BODY:
                break
        detail = error_message(bytes(raw[:MAX_ERROR_BODY]), response.reason_phrase or "error")
        url = self._base_url
        if status == 429 or status >= 500:
            return LLMUnavailable(f"The LLM at {url} answered HTTP {status}: {detail}", status)
        return LLMRequestRejected(
            f"The LLM at {url} rejected the request (HTTP {status}): {detail}{_hint(status)}",
            status,
        )

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
        if isinstance(exc, httpx2.TimeoutException):
            return LLMTimeout(f"The LLM at {url} timed out: {_cause(exc)}")
        if isinstance(exc, httpx2.TransportError):
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
    """The exception's type and text (some transport errors have no text)."""
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _hint(status: int) -> str:
    if status in (401, 403):
        return " — check SAGE_LLM_API_KEY."
    if status == 404:
        return " — check SAGE_LLM_BASE_URL and the model name (SAGE_LLM_MODEL)."
    return ""
