"""The ``ChatModel`` for any OpenAI-compatible endpoint, through the openai SDK.

One instance serves the whole process: it owns the single HTTP connection pool
that every run shares, so hundreds of concurrent runs reuse warm connections.
Base URL, credentials, organisation and project headers, default headers,
timeouts and error classes are the openai SDK's: each request carries what
the SDK client would send, taken from it once (``sagents.llm.route``) and
sent on the SDK's own httpx2 pool; Azure, with its deployment routing, goes
through the SDK's low-level ``AsyncOpenAI.post``. The body is Sage's own
JSON and the streamed answer is read raw, by ``sagents.llm.wire``:
``chat.completions.create`` would walk every request's messages through the
SDK's TypedDict transformer (~2 ms per request here) and build a pydantic
chunk per token (~0.2 ms each), and ``post`` rebuilds the same URL, headers
and options for every request (~0.4 ms more CPU per call than the route,
measured here on a 50-token call against the bench mock; ~0.7 ms in
``_build_request`` under a profiler).

Retries happen only before the first chunk, where a retry is invisible to the
user: once output has started streaming, a failure is reported, never
replayed. A refusal of an optional parameter is learned (``Capabilities``)
and the request sent again at once without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx2
import openai

from sagents.context.tokens import TokenCounters
from sagents.llm.capabilities import FEATURES, Capabilities
from sagents.llm.deadline import ReadDeadline
from sagents.llm.errors import (
    LLMError,
    LLMNotConfigured,
    LLMParameterUnsupported,
    LLMStreamBroken,
    LLMUnavailable,
)
from sagents.llm.failures import STREAM_ERRORS, broken, open_failure
from sagents.llm.features import request_body
from sagents.llm.retry import backoff_delay, is_retryable
from sagents.llm.route import Route, build_route, send, takes_route
from sagents.llm.sdk import (
    DEFAULT_BASE_URL,
    build_http_client,
    build_sdk_client,
    omit_auth,
)
from sagents.llm.strict import StrictTools
from sagents.llm.think import ThinkSplitter
from sagents.llm.types import (
    LLMChunk,
    LLMRequest,
    StreamEnd,
    TextDelta,
    UsageReport,
)
from sagents.llm.usage import OutputSample, estimate_usage
from sagents.llm.wire import DecodedBatch, decode_batch, sse_batches
from sagents.settings import NOT_CONFIGURED_MESSAGE, Settings

__all__ = ["DEFAULT_BASE_URL", "ROLE_HEADER", "OpenAIChatModel"]

ROLE_HEADER = "X-Sage-Role"

RESOURCE_EXHAUSTED = "insufficient_system_resource"
"""DeepSeek's finish reason for a generation its servers gave up on
(https://api-docs.deepseek.com/api/create-chat-completion/): not an answer."""


class OpenAIChatModel:
    """Streams chat completions from one OpenAI-compatible endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: httpx2.AsyncClient | None = None,
        counters: TokenCounters | None = None,
    ) -> None:
        """``http_client`` lets an embedding application share its own pool;
        by default the model builds one sized by ``llm_max_connections``.
        ``counters`` count tokens when a provider reports no usage."""
        self._settings = settings
        self._base_url = (settings.llm_base_url or DEFAULT_BASE_URL).rstrip("/")
        self.capabilities = Capabilities(self._base_url)
        self._counters = counters or TokenCounters()
        self._azure = bool(settings.llm_api_version)
        self._headers: dict[str, Any] = {}
        if omit_auth(settings):
            self._headers["Authorization"] = openai.Omit()
        self._closed = False
        self._owns_http = http_client is None
        self._http: httpx2.AsyncClient | None = None
        self._sdk: openai.AsyncOpenAI | None = None
        self._route: Route | None = None
        """Built from the SDK client at the first call (``sagents.llm.route``);
        stays ``None`` for a client that must go through ``post``."""
        self._routable = False
        self._strict = StrictTools()
        if not settings.llm_configured:
            return
        self._http = http_client or build_http_client(settings)
        self._sdk = build_sdk_client(settings, self._http)
        self._routable = takes_route(self._sdk)

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIChatModel:
        return cls(settings)

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def sdk(self) -> openai.AsyncOpenAI:
        """The SDK client (for calls beyond chat completions, e.g. listing models)."""
        if self._sdk is None:
            raise LLMNotConfigured(NOT_CONFIGURED_MESSAGE)
        return self._sdk

    def model_for(self, role: str) -> str:
        return self._settings.model_for(role)

    async def aclose(self) -> None:
        """Close the connection pool (unless it was handed in by the caller)."""
        self._closed = True
        if self._http is not None and self._owns_http:
            await self._http.aclose()
        self._http = None
        self._sdk = None
        self._route = None

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        if self._closed:
            raise RuntimeError("this OpenAIChatModel was closed (aclose) and cannot stream")
        if self._sdk is None:
            raise LLMNotConfigured(NOT_CONFIGURED_MESSAGE)
        model = self.model_for(request.role)
        deadline = asyncio.get_running_loop().time() + self._settings.llm_timeout_s
        response, batches, decoded, size = await self._open(self._sdk, request, model, deadline)
        think = ThinkSplitter()
        output = OutputSample()
        usage_reported = False
        chunks = 0
        text_chars = 0
        finish: str | None = None
        # The one timer of the stream's reads (see ReadDeadline); the first
        # read, in _open, has its own per-attempt first-chunk deadline.
        reads = ReadDeadline(deadline)
        try:
            while True:
                chunks += decoded.decoded
                parts = decoded.parts if think.done else think.split(decoded.parts)
                output.hold(parts)
                for part in parts:
                    if type(part) is TextDelta:
                        text_chars += len(part.text)
                    elif type(part) is UsageReport:
                        usage_reported = True
                    yield part
                if decoded.error is not None:
                    raise decoded.error
                if decoded.finish is not None:
                    finish = decoded.finish
                task = reads.start()
                try:
                    payloads = await anext(batches)
                except asyncio.CancelledError:
                    if reads.timed_out(task):
                        raise TimeoutError from None
                    raise
                except StopAsyncIteration:
                    break
                finally:
                    reads.stop()
                decoded = decode_batch(payloads, model)
        except STREAM_ERRORS as exc:
            raise broken(
                exc, self._base_url, chunks, text_chars, self._settings.llm_timeout_s
            ) from exc
        finally:
            # Also reached when the consuming task is cancelled or the caller
            # closes this generator: the HTTP response must not outlive it.
            reads.close()
            await response.aclose()
        rest = think.flush()
        output.hold(rest)
        for part in rest:
            yield part
        received = f"{chunks} chunks ({text_chars} characters of text)"
        if finish is None:
            raise LLMStreamBroken(
                f"the LLM stream from {self._base_url} broke after {received}: "
                "it ended without a finish_reason"
            )
        if finish == RESOURCE_EXHAUSTED:
            raise LLMStreamBroken(
                f"the LLM at {self._base_url} stopped after {received}: "
                "it ran out of resources (finish_reason insufficient_system_resource)"
            )
        self.capabilities.note_usage(model, reported=usage_reported)
        if not usage_reported:
            yield await estimate_usage(
                self._counters, model, request.messages, request.tools, output, size
            )
        yield StreamEnd(finish_reason=finish, model=model)

    async def _open(
        self, sdk: openai.AsyncOpenAI, request: LLMRequest, model: str, deadline: float
    ) -> tuple[httpx2.Response, AsyncIterator[list[bytes]], DecodedBatch, int]:
        """Send the request and wait for the first chunk, retrying transient
        failures; nothing has reached the caller yet, so a retry is invisible.
        Returns the response, its batches, the first batch and the body size."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        body, sent = request_body(request, model, self.capabilities, self._strict)
        route = self._route
        if route is None and self._routable:
            route = self._route = await self._build_route(sdk)
        role = (ROLE_HEADER, request.role)
        attempt = 0
        while True:
            first_deadline = min(deadline, loop.time() + settings.llm_first_chunk_timeout_s)
            response: httpx2.Response | None = None
            try:
                async with asyncio.timeout_at(first_deadline):
                    if route is not None and self._http is not None:
                        response = await send(self._http, route, role, body)
                    else:
                        response = await self._post(sdk, model, role, body)
                    batches = sse_batches(response.aiter_bytes())
                    first = decode_batch(await anext(batches), model)
                    if first.error is not None and not first.parts:
                        # The provider's error as its first word: nothing has
                        # reached the caller, so it is retried like a 5xx.
                        raise first.error
                return response, batches, first, len(body)
            except BaseException as exc:
                if response is not None:
                    await response.aclose()
                error = open_failure(
                    exc,
                    self._base_url,
                    sent,
                    timeout_s=settings.llm_timeout_s,
                    first_chunk_s=settings.llm_first_chunk_timeout_s,
                    hit_deadline=loop.time() >= deadline,
                )
                if error is None:
                    raise
                if isinstance(error, LLMParameterUnsupported):
                    dropped = self._drop_refused(model, error)
                    if dropped:
                        body, sent = request_body(request, model, self.capabilities, self._strict)
                        continue  # at once: a different request, not a retry
                    raise error from exc
                attempt += 1
                delay = self._delay(error, attempt)
                if not is_retryable(error) or attempt > settings.llm_max_retries:
                    raise self._gave_up(error, attempt) from exc
                if loop.time() + delay >= deadline:
                    raise self._out_of_time(error, delay, deadline - loop.time()) from exc
            await asyncio.sleep(delay)

    async def _build_route(self, sdk: openai.AsyncOpenAI) -> Route:
        # The SDK's platform headers read the OS release file; the SDK detects
        # the platform off the event loop, and so does this (the result is
        # cached by the SDK, so default_headers below only reads it).
        await asyncio.to_thread(sdk.platform_headers)
        return build_route(sdk, "chat/completions", self._headers, ROLE_HEADER)

    async def _post(
        self, sdk: openai.AsyncOpenAI, model: str, role: tuple[str, str], body: bytes
    ) -> httpx2.Response:
        """The request through the SDK's ``post``: Azure, or a client that signs
        its requests itself."""
        # Azure routes by deployment (Sage's model name) in the path; the SDK
        # does that only for bodies it serialises itself.
        path = (
            f"/deployments/{quote(model, safe='')}/chat/completions"
            if self._azure
            else "/chat/completions"
        )
        options: Any = {"headers": {**self._headers, role[0]: role[1]}}
        response: httpx2.Response = await sdk.post(
            path, cast_to=httpx2.Response, content=body, options=options, stream=True
        )
        return response

    def _drop_refused(self, model: str, error: LLMParameterUnsupported) -> bool:
        """Learn the refused optional parameters; False when none of them is
        one Sage can leave out (``response_format`` is the caller's to handle)."""
        refused = [feature for feature in FEATURES if feature in error.parameters]
        for feature in refused:
            self.capabilities.refuse(model, feature, str(error))
        return bool(refused)

    def _delay(self, error: LLMError, attempt: int) -> float:
        """The endpoint's Retry-After when it gave one (capped by
        ``llm_retry_after_max_s``), else exponential backoff with jitter."""
        settings = self._settings
        wait = error.retry_after_s if isinstance(error, LLMUnavailable) else None
        if wait is not None:
            return min(wait, settings.llm_retry_after_max_s)
        return backoff_delay(
            attempt - 1, settings.llm_retry_base_delay_s, settings.llm_retry_max_delay_s
        )

    def _gave_up(self, error: LLMError, attempt: int) -> LLMError:
        if attempt > 1 and isinstance(error, LLMUnavailable):
            return type(error)(
                f"{error} (gave up after {attempt} attempts)",
                status_code=error.status_code,
                retry_after_s=error.retry_after_s,
            )
        return error

    def _out_of_time(self, error: LLMError, delay: float, left: float) -> LLMError:
        if not isinstance(error, LLMUnavailable):
            return error
        if error.retry_after_s is not None:
            why = f"it asked to retry after {error.retry_after_s:g} s"
        else:
            why = f"the next retry would start after {delay:.2g} s"
        return type(error)(
            f"{error} (not retried: {why}, beyond the call's deadline {max(left, 0):.2g} s away)",
            status_code=error.status_code,
            retry_after_s=error.retry_after_s,
        )
