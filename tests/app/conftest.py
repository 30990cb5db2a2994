"""End-to-end fixtures: the real app under uvicorn on loopback, talking to the
mock OpenAI-compatible server through the real openai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.main import create_app
from sagents.events import EventBase, parse_event
from sagents.testing import MockLLMServer, Script, ServerThread, Turn
from sagents.tools import ToolManager
from tests.conftest import make_settings


@pytest.fixture
def mock_llm() -> Iterator[MockLLMServer]:
    # Strict (the default, said here because tests rely on it): a history
    # OpenAI would reject is a 400 here too, so no test passes that fails
    # against the real API.
    server = MockLLMServer(Script(), strict=True)
    server.start()
    yield server
    server.stop()


StartServer = Callable[..., str]


@pytest.fixture
def start_server(tmp_path: Path, mock_llm: MockLLMServer) -> Iterator[StartServer]:
    """``start_server(turns, tools=..., **settings)`` → the app's base URL."""
    threads: list[ServerThread] = []

    def start(
        turns: list[Turn] | None = None, tools: ToolManager | None = None, **overrides: Any
    ) -> str:
        if turns is not None:
            mock_llm.set_script(Script(turns=turns))
        overrides.setdefault("llm_base_url", mock_llm.base_url)
        settings = make_settings(tmp_path / f"data{len(threads)}", **overrides)
        thread = ServerThread(create_app(settings, tools=tools))
        url = thread.start()
        threads.append(thread)
        return url

    yield start
    for thread in threads:
        thread.stop()


async def sse_events(
    http: httpx2.AsyncClient, method: str, url: str, **kwargs: Any
) -> AsyncIterator[EventBase]:
    """Yield the events of one SSE response (raises on an HTTP error status)."""
    async with http.stream(method, url, **kwargs) as response:
        response.raise_for_status()
        async for frame in httpx2.EventSource(response, max_event_size=None):
            if frame.data:
                yield parse_event(frame.data)


SIMPLE = {"deep_thinking": False, "multi_agent": False}
"""Options that take the simple path: the router is skipped, flags given."""


async def chat(http: httpx2.AsyncClient, **payload: Any) -> list[EventBase]:
    """One chat on the simple path unless the payload sets the flags."""
    body = {**SIMPLE, **payload}
    return [e async for e in sse_events(http, "POST", "/api/v1/chat", json=body)]
