"""A small async client for Sage's HTTP API, used by the CLI.

Events arrive as SSE; ``httpx-sse`` parses the frames and ``parse_event``
turns each into the same typed event the server emitted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from app.cross_site import CLIENT_HEADER
from sagents.events import Event, parse_event


class SageAPIError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(f"HTTP {status}: {message or body}")
        self.status = status
        self.body = body


class SageClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        # Tells the server this is not a cross-site form (an upload is
        # multipart, a type a form can send; see app/cross_site.py).
        headers = {CLIENT_HEADER: "sage-cli"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, read=None),
        )

    async def __aenter__(self) -> SageClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """One JSON request; an error status raises ``SageAPIError``."""
        response = await self._http.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise SageAPIError(response.status_code, _body(response))
        return response.json() if response.content else None

    async def chat(self, payload: dict[str, Any]) -> AsyncIterator[Event]:
        """Start a run and yield its events."""
        async with aconnect_sse(self._http, "POST", "/api/v1/chat", json=payload) as source:
            response = source.response
            if response.status_code >= 400:
                await response.aread()
                raise SageAPIError(response.status_code, _body(response))
            async for frame in source.aiter_sse():
                if frame.data:
                    yield parse_event(frame.data)

    async def events(self, session_id: str, run_id: str, after: int = 0) -> AsyncIterator[Event]:
        url = f"/api/v1/sessions/{session_id}/runs/{run_id}/events"
        headers = {"Last-Event-ID": str(after)} if after else {}
        async with aconnect_sse(self._http, "GET", url, headers=headers) as source:
            if source.response.status_code >= 400:
                await source.response.aread()
                raise SageAPIError(source.response.status_code, _body(source.response))
            async for frame in source.aiter_sse():
                if frame.data:
                    yield parse_event(frame.data)

    async def cancel(self, session_id: str) -> Any:
        return await self.request("POST", f"/api/v1/sessions/{session_id}/cancel")

    async def sessions(self, limit: int = 50, offset: int = 0) -> Any:
        return await self.request(
            "GET", "/api/v1/sessions", params={"limit": limit, "offset": offset}
        )

    async def session(self, session_id: str) -> Any:
        return await self.request("GET", f"/api/v1/sessions/{session_id}")

    async def messages(self, session_id: str) -> Any:
        return await self.request("GET", f"/api/v1/sessions/{session_id}/messages")

    async def health(self) -> Any:
        return await self.request("GET", "/healthz")

    async def mcp_servers(self) -> Any:
        return await self.request("GET", "/api/v1/mcp/servers")

    async def add_mcp_server(self, body: dict[str, Any]) -> Any:
        return await self.request("POST", "/api/v1/mcp/servers", json=body)

    async def remove_mcp_server(self, name: str) -> Any:
        return await self.request("DELETE", f"/api/v1/mcp/servers/{name}")

    async def tools(self) -> Any:
        return await self.request("GET", "/api/v1/tools")


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
