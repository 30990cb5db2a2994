"""Sending a chat completion over the SDK client's pool, with what the SDK
would build for every request built once.

The SDK's low-level ``AsyncOpenAI.post`` rebuilds the same request each time:
two copies of the request options, three URL parses, six header mappings
merged case-insensitively and validated, the timeout normalised: ~0.4 ms of
CPU per call measured here (a 50-token call against the bench mock, medians
of three interleaved process pairs 1.58 / 1.88 / 1.47 → 1.15 / 1.41 / 1.06 ms).
For Sage they never change between calls, so a ``Route`` takes them from the
SDK client once — its ``base_url``, ``auth_headers`` (the API key),
``default_headers`` (organisation, project, the ``default_headers`` setting,
its own platform headers) and ``timeout`` — and each call only adds its role
header and body. The request goes through the same httpx2 pool with
``send(stream=True)``, as the SDK's ``_send_request`` does for a client
without custom auth, and its failures become the SDK's own exceptions
(``APIStatusError`` subclasses, ``APITimeoutError``, ``APIConnectionError``),
so ``sagents.llm.failures`` sees what it saw before.

Only a plain client takes this route: Azure (deployment routing, a possible
token provider) and any client that signs requests itself (``custom_auth``,
workload identity) keep going through ``post``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import openai

REQUEST_ERRORS: tuple[type[BaseException], ...] = (
    httpx2.RequestError,
    ssl.SSLError,
    anyio.EndOfStream,
)
"""What the SDK turns into ``APIConnectionError`` when sending (its
``request_exceptions``: httpx2's request errors plus the TLS failures AnyIO
leaves unmapped)."""

RETRY_COUNT_HEADER = "x-stainless-retry-count"
READ_TIMEOUT_HEADER = "x-stainless-read-timeout"


@dataclass(frozen=True, slots=True)
class Route:
    """The URL, headers and timeout of every chat completion request."""

    url: httpx2.URL
    headers: tuple[tuple[str, str], ...]
    timeout: dict[str, float | None]
    sdk: openai.AsyncOpenAI
    """For the SDK's error classes (``status_error``)."""


def takes_route(sdk: openai.AsyncOpenAI) -> bool:
    """Whether requests can skip ``post``: no Azure client, no request signing."""
    return (
        not isinstance(sdk, openai.AsyncAzureOpenAI)
        and sdk.custom_auth is None
        and sdk.workload_identity is None
    )


def build_route(
    sdk: openai.AsyncOpenAI, path: str, headers: Mapping[str, str | openai.Omit], per_call: str
) -> Route:
    """The route to ``path`` under the SDK's base URL. ``headers`` are the
    caller's own (applied last, as the SDK applies request headers, and
    ``Omit`` drops one); ``per_call`` names the header each call adds, so a
    default header of that name does not go out twice."""
    merged = merge_headers(sdk.auth_headers, sdk.default_headers, headers)
    merged.pop(per_call.lower(), None)
    # What the SDK's _build_headers adds: Sage turns the SDK's retries off and
    # retries each call itself, so every request the SDK sent was its first.
    merged.setdefault(RETRY_COUNT_HEADER, (RETRY_COUNT_HEADER, "0"))
    timeout = httpx2.Timeout(sdk.timeout)
    if timeout.read is not None:
        merged.setdefault(READ_TIMEOUT_HEADER, (READ_TIMEOUT_HEADER, str(timeout.read)))
    base = sdk.base_url
    url = base.copy_with(raw_path=base.raw_path + path.lstrip("/").encode())
    return Route(url, tuple(merged.values()), timeout.as_dict(), sdk)


def merge_headers(*layers: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Header layers merged by lower-cased name, later ones winning and an
    ``Omit`` removing the name (the SDK's rule for its header layers)."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            if isinstance(value, openai.Omit):
                merged.pop(name.lower(), None)
            else:
                merged[name.lower()] = (name, value)
    return merged


async def send(
    http: httpx2.AsyncClient, route: Route, role_header: tuple[str, str], body: bytes
) -> httpx2.Response:
    """POST ``body`` along ``route`` and return the streaming response; an
    error status, a timeout or a failed connection raise what the SDK raises."""
    request = http.build_request(
        "POST",
        route.url,
        content=body,
        headers=[*route.headers, role_header],
        extensions={"timeout": route.timeout},
    )
    try:
        response = await http.send(request, stream=True)
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=request) from exc
    except REQUEST_ERRORS as exc:
        raise openai.APIConnectionError(request=request) from exc
    if not response.is_success:  # the SDK's raise_for_status: anything but 2xx
        try:
            await response.aread()
        finally:
            await response.aclose()
        raise status_error(route.sdk, response)
    return response


def status_error(sdk: openai.AsyncOpenAI, response: httpx2.Response) -> openai.APIStatusError:
    """The exception the SDK raises for this error response.

    ``_make_status_error_from_response`` is private, but it is the one place
    that holds the SDK's mapping from status to class (``BadRequestError``,
    ``RateLimitError``…) and its message and ``body`` parsing; calling it keeps
    Sage's errors exactly the SDK's. ``tests/llm/test_route.py`` checks the
    classes, so an SDK upgrade that renames it fails there.
    """
    return sdk._make_status_error_from_response(response)
