"""A small async client for Sage's HTTP API, used by the CLI.

Events arrive as SSE; httpx2's ``EventSource`` parses the frames and
``parse_event`` turns each into the same typed event the server emitted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, BinaryIO

import httpx2

from app.cross_site import CLIENT_HEADER
from sagents.events import Event, parse_event

MAX_EVENT_BYTES = 64 * 2**20
"""A ``run.finished`` frame carries the whole answer; httpx2's 1 MiB default
would refuse a long one."""


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
        self._http = httpx2.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx2.Timeout(timeout, read=None),
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

    async def download(self, url: str, out: BinaryIO) -> int:
        """Stream a file's bytes into ``out``; how many. An error status raises."""
        async with self._http.stream("GET", url) as response:
            if response.status_code >= 400:
                await response.aread()
                raise SageAPIError(response.status_code, _body(response))
            size = 0
            async for chunk in response.aiter_bytes():
                out.write(chunk)
                size += len(chunk)
            return size

    async def chat(self, payload: dict[str, Any]) -> AsyncIterator[Event]:
        """Start a run and yield its events."""
        async for event in self._events("POST", "/api/v1/chat", json=payload):
            yield event

    async def events(self, session_id: str, run_id: str, after: int = 0) -> AsyncIterator[Event]:
        url = f"/api/v1/sessions/{session_id}/runs/{run_id}/events"
        headers = {"Last-Event-ID": str(after)} if after else {}
        async for event in self._events("GET", url, headers=headers):
            yield event

    async def _events(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> AsyncIterator[Event]:
        """The events of one SSE response; an error status raises ``SageAPIError``."""
        sse = {"Accept": "text/event-stream", "Cache-Control": "no-store", **(headers or {})}
        async with self._http.stream(method, url, headers=sse, **kwargs) as response:
            if response.status_code >= 400:
                await response.aread()
                raise SageAPIError(response.status_code, _body(response))
            async for frame in httpx2.EventSource(response, max_event_size=MAX_EVENT_BYTES):
                if frame.data:
                    yield parse_event(frame.data)

    async def decide(self, session_id: str, run_id: str, call_id: str, body: dict[str, Any]) -> Any:
        """Approve, reject or edit a tool call the run waits for."""
        url = f"/api/v1/sessions/{session_id}/runs/{run_id}/approvals/{call_id}"
        return await self.request("POST", url, json=body)

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

    async def export(self, session_id: str) -> AsyncIterator[bytes]:
        """The session's JSON lines, as the server streams them."""
        url = f"/api/v1/sessions/{session_id}/export"
        async with self._http.stream("GET", url) as response:
            if response.status_code >= 400:
                await response.aread()
                raise SageAPIError(response.status_code, _body(response))
            async for chunk in response.aiter_bytes():
                yield chunk

    async def health(self) -> Any:
        return await self.request("GET", "/healthz")

    async def mcp_servers(self) -> Any:
        return await self.request("GET", "/api/v1/mcp/servers")

    async def add_mcp_server(self, body: dict[str, Any]) -> Any:
        return await self.request("POST", "/api/v1/mcp/servers", json=body)

    async def remove_mcp_server(self, name: str) -> Any:
        return await self.request("DELETE", f"/api/v1/mcp/servers/{name}")

    async def set_mcp_disabled(self, name: str, disabled: bool) -> Any:
        return await self.request(
            "PATCH", f"/api/v1/mcp/servers/{name}", json={"disabled": disabled}
        )

    async def refresh_mcp_server(self, name: str) -> Any:
        return await self.request("POST", f"/api/v1/mcp/servers/{name}/refresh")

    async def tools(self) -> Any:
        return await self.request("GET", "/api/v1/tools")


def _body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
