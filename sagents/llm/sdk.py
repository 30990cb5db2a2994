"""The openai SDK client Sage talks through, built from its settings.

The SDK owns the connection settings: base URL, API key, organisation and
project headers, default headers, timeouts, the Azure variant
(``AsyncAzureOpenAI`` when ``SAGE_LLM_API_VERSION`` is set: deployment names
are the model names) and the error classes. Sage hands it its own httpx2
pool, sized for every run of the process, and turns the SDK's retries off:
Sage retries itself, only before the first chunk and within the call's
deadline (``sagents.llm.openai_model``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai

from sagents.settings import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"

NO_KEY = "sk-no-key"
"""The SDK refuses to start without a key; local servers (Ollama, llama.cpp,
vLLM) need none. With no key configured Sage passes this placeholder and
leaves the ``Authorization`` header out of every request (``omit_auth``)."""

MAX_ERROR_BODY = 64 * 1024
"""An error response is read up to this size: the SDK reads error bodies
whole, and a misconfigured URL can point at something that answers a large
HTML page."""


def build_http_client(settings: Settings) -> httpx2.AsyncClient:
    """One pool for every run: hundreds of concurrent runs reuse warm connections."""
    return httpx2.AsyncClient(
        limits=httpx2.Limits(
            max_connections=settings.llm_max_connections,
            max_keepalive_connections=settings.llm_max_connections,
        ),
        timeout=sdk_timeout(settings),
        follow_redirects=True,
        event_hooks={"response": [cap_error_body]},
    )


def sdk_timeout(settings: Settings) -> httpx2.Timeout:
    return httpx2.Timeout(
        connect=settings.llm_connect_timeout_s,
        # No socket read timeout: stalls are bounded by Sage's own first-chunk
        # and whole-call deadlines, and a read timeout would arm and disarm
        # one more timer on every read of every stream (measurably slow with
        # ~1,000 streams; docs/benchmarks.md).
        read=None,
        write=settings.llm_timeout_s,
        pool=settings.llm_timeout_s,
    )


def build_sdk_client(settings: Settings, http: httpx2.AsyncClient) -> openai.AsyncOpenAI:
    """``AsyncOpenAI``, or ``AsyncAzureOpenAI`` when an API version is set."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    common: dict[str, Any] = {
        "api_key": key or NO_KEY,
        "organization": settings.llm_organization,
        "project": settings.llm_project,
        "max_retries": 0,
        "timeout": sdk_timeout(settings),
        "default_headers": dict(settings.llm_default_headers) or None,
        "http_client": http,
    }
    if settings.llm_api_version:
        return openai.AsyncAzureOpenAI(
            azure_endpoint=settings.llm_base_url or "",
            api_version=settings.llm_api_version,
            **common,
        )
    return openai.AsyncOpenAI(base_url=settings.llm_base_url or DEFAULT_BASE_URL, **common)


def omit_auth(settings: Settings) -> bool:
    """Whether requests go without ``Authorization`` (no key, not Azure)."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    return not key and not settings.llm_api_version


async def cap_error_body(response: httpx2.Response) -> None:
    """An httpx2 response hook: error bodies are cut at ``MAX_ERROR_BODY``."""
    if response.status_code >= 400:
        response.stream = CappedStream(response.stream, MAX_ERROR_BODY)


class CappedStream(httpx2.AsyncByteStream):
    """At most ``limit`` bytes of another stream, then it is closed."""

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        left = self._limit
        async for piece in self._inner:
            yield piece[:left]
            left -= len(piece)
            if left <= 0:
                break

    async def aclose(self) -> None:
        await self._inner.aclose()
