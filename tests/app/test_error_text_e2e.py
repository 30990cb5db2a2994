"""Internal error text never reaches a client: not in ``run.failed``, not in
the run record a client reads back, not in a 500 body. It is in the server
log, for whoever runs the service."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import TypeAdapter

from app.errors import not_found
from app.main import create_app
from sagents.context.session_context import SessionContext
from sagents.events import RunFailed
from sagents.flow.default import default_catalog
from sagents.testing import MockLLMServer, Script, ServerThread, Turn
from tests.app.conftest import chat
from tests.conftest import make_settings

SECRET = "password=hunter2 at /srv/private/sage.db"
JSON = {"Content-Type": "application/json"}


def _invalid() -> Exception:
    """A pydantic error: its text quotes the value that failed, whole."""
    try:
        TypeAdapter(int).validate_python(SECRET)
    except Exception as exc:
        return exc
    raise AssertionError("the value validated")


FAILURES: dict[str, Callable[[], BaseException]] = {
    "RuntimeError": lambda: RuntimeError(SECRET),
    "OSError": lambda: FileNotFoundError(2, "No such file", SECRET),
    "sqlite3": lambda: sqlite3.OperationalError(SECRET),
    "KeyError": lambda: KeyError(SECRET),
    "ValidationError": _invalid,
    # Kinds an LLM call fails with, raised here by code that is not one:
    # only Sage's own LLMError (which names the endpoint) is shown as is.
    "TimeoutError": lambda: TimeoutError(SECRET),
    "httpx2": lambda: httpx2.ConnectError(SECRET),
    "group": lambda: ExceptionGroup("tools", [RuntimeError(SECRET)]),
}
"""Unexpected failures of every common kind; none of their text may leave."""


@pytest.fixture(params=sorted(FAILURES))
def failure(request: pytest.FixtureRequest) -> Callable[[], BaseException]:
    return FAILURES[request.param]


@pytest.fixture
def server(
    tmp_path: Path, mock_llm: MockLLMServer, failure: Callable[[], BaseException]
) -> Iterator[ServerThread]:
    mock_llm.set_script(Script(turns=[Turn(text="an answer")]))
    catalog = default_catalog()

    def leaky_condition(ctx: SessionContext) -> bool:
        """Stands for any unexpected failure in code a run calls (a store, an
        extension's agent or condition): its message holds what must stay inside."""
        raise failure()

    catalog.add_condition("more_suggest", leaky_condition)
    settings = make_settings(tmp_path, llm_base_url=mock_llm.base_url)
    app = create_app(settings, catalog=catalog)

    async def boom() -> None:
        raise failure()

    async def echo(body: dict[str, Any]) -> None:
        # A route whose model forgot Utf8Str, echoing client text in its error.
        raise not_found("item", str(body.get("id")))

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/api/v1/echo", echo, methods=["POST"])
    with ServerThread(app) as thread:
        yield thread


async def test_run_failed_carries_no_internal_text(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
        events = await chat(http, message="hi")
        failed = events[-1]
        assert isinstance(failed, RunFailed), events[-1]
        assert failed.error_type == "InternalError"
        assert failed.run_id in failed.message
        assert "server log" in failed.message
        session = (await http.get(f"/api/v1/sessions/{failed.session_id}")).json()
        messages = (await http.get(f"/api/v1/sessions/{failed.session_id}/messages")).text
    for seen in (failed.model_dump_json(), str(session), messages):
        assert "hunter2" not in seen and "/srv/private" not in seen
    assert session["runs"][0]["status"] == "failed"
    assert SECRET in caplog.text  # the operator still learns what happened


async def test_a_500_body_carries_no_internal_text(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
        response = await http.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"type": "internal_error", "message": "internal error; see the server log"}
    }
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert SECRET in caplog.text


async def test_an_error_echoing_unencodable_client_text_still_renders(
    server: ServerThread,
) -> None:
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
        response = await http.post(
            "/api/v1/echo",
            content=rb'{"id": "a\ud800b"}',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 404, response.text
    assert response.json()["error"]["message"] == "item 'a\\ud800b' not found"
