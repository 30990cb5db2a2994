"""Naming an LLM failure by what the user can do about it.

The client meets failures from three places: the openai SDK (status errors,
connection errors, its own timeouts), Sage's own deadlines (``TimeoutError``)
and the stream itself (httpx2 read errors, a malformed or error chunk). Each
becomes one ``LLMError`` whose text names the endpoint and the cause; the
retry policy then reasons only about Sage's error vocabulary.
"""

from __future__ import annotations

import httpx2
import openai

from sagents.llm.errors import (
    LLMError,
    LLMParameterUnsupported,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
)
from sagents.llm.features import named_parameters
from sagents.llm.retry import retry_after_seconds
from sagents.llm.wire import ProviderStreamError, WireError, error_message

STREAM_ERRORS = (httpx2.HTTPError, openai.APIError, TimeoutError, WireError, ProviderStreamError)
"""What a failing call or stream raises; anything else is a bug and propagates."""

RETRY_AFTER_STATUSES = frozenset({429, 503})


def open_failure(
    exc: BaseException,
    url: str,
    sent: list[str],
    *,
    timeout_s: float,
    first_chunk_s: float,
    hit_deadline: bool,
) -> LLMError | None:
    """The ``LLMError`` for a failure before the first chunk; ``None`` when
    ``exc`` is not an LLM failure at all (a bug, or cancellation)."""
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, StopAsyncIteration):
        return LLMUnavailable(
            f"The LLM at {url} answered without any stream events; "
            "is it an OpenAI-compatible chat completions endpoint?"
        )
    if isinstance(exc, openai.APIStatusError):
        return status_failure(exc, url, sent)
    if isinstance(exc, TimeoutError):
        if hit_deadline:
            return LLMTimeout(f"The LLM at {url} did not answer within {timeout_s:g} s.")
        return LLMTimeout(
            f"The LLM at {url} sent nothing within {first_chunk_s:g} s (first-chunk timeout)."
        )
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return LLMTimeout(f"The LLM at {url} timed out: {cause(exc)}")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return LLMUnavailable(f"Could not reach the LLM at {url}: {cause(exc)}")
    if isinstance(exc, STREAM_ERRORS):
        return LLMUnavailable(f"The LLM at {url} failed: {cause(exc)}")
    return None


def status_failure(exc: openai.APIStatusError, url: str, sent: list[str]) -> LLMError:
    """An HTTP error status, named by what the user can do about it."""
    response = exc.response
    status = exc.status_code
    try:
        raw = response.content
    except httpx2.ResponseNotRead:
        raw = b""
    detail = error_message(raw, response.reason_phrase or "error")
    named = named_parameters(status, raw, sent)
    if named:
        return LLMParameterUnsupported(
            f"The LLM at {url} does not support {', '.join(named)} (HTTP {status}): {detail}",
            status,
            tuple(named),
        )
    if status == 429 or status >= 500:
        wait = retry_after_seconds(response.headers) if status in RETRY_AFTER_STATUSES else None
        return LLMUnavailable(f"The LLM at {url} answered HTTP {status}: {detail}", status, wait)
    return LLMRequestRejected(
        f"The LLM at {url} rejected the request (HTTP {status}): {detail}{hint(status)}", status
    )


def broken(
    exc: BaseException, url: str, chunks: int, text_chars: int, timeout_s: float
) -> LLMError:
    """A failure after output has reached the caller: reported, never retried."""
    received = f"{chunks} chunks ({text_chars} characters of text)"
    if isinstance(exc, TimeoutError):
        return LLMTimeout(
            f"The LLM at {url} did not finish within {timeout_s:g} s; it had sent {received}."
        )
    return LLMStreamBroken(f"the LLM stream from {url} broke after {received}: {cause(exc)}")


def cause(exc: BaseException) -> str:
    """The exception's type and text (some transport errors have no text);
    the SDK's connection errors say little, so their cause is named too."""
    inner = exc.__cause__ if isinstance(exc, openai.APIConnectionError) else None
    if inner is not None:
        return cause(inner)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def hint(status: int) -> str:
    if status in (401, 403):
        return " — check SAGE_LLM_API_KEY."
    if status == 404:
        return " — check SAGE_LLM_BASE_URL and the model name (SAGE_LLM_MODEL)."
    return ""
