"""Every kind of bad input gets a 4xx with a JSON body naming the problem."""

from __future__ import annotations

import httpx2
import pytest

from sagents.testing import Turn
from tests.app.conftest import StartServer, chat


@pytest.fixture
async def http(start_server: StartServer) -> httpx2.AsyncClient:
    url = start_server([Turn(text="ok")], max_message_bytes=1000)
    return httpx2.AsyncClient(base_url=url, timeout=10)


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 422, "JSON"),
        (b'{"message": "hi", "bogus": 1}', 422, "bogus"),
        (b'{"message": 42}', 422, "message"),
        (b'{"message": ""}', 422, "message"),
        (b'{"message": "   "}', 422, "empty"),
        (b"{}", 422, "message"),
        (b'{"message": "hi", "max_loop_count": "many"}', 422, "max_loop_count"),
        (b'{"message": "hi", "on_disconnect": "explode"}', 422, "on_disconnect"),
        (b'{"message": "hi", "available_tools": ["no_such_tool"]}', 422, "no_such_tool"),
        (b'{"message": "hi", "session_id": "ses_missing"}', 404, "ses_missing"),
        (b'{"message": "' + b"x" * 2000 + b'"}', 413, "1000"),
        (b'{"message": "hi", "pad": "' + b"z" * 80_000 + b'"}', 413, "bytes"),
    ],
)
async def test_chat_bad_input(
    http: httpx2.AsyncClient, body: bytes, status: int, needle: str
) -> None:
    async with http:
        response = await http.post(
            "/api/v1/chat", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert needle.lower() in (error["message"] + str(error.get("details", ""))).lower()
    assert "Traceback" not in response.text


async def test_unknown_ids_and_bad_paging(http: httpx2.AsyncClient) -> None:
    async with http:
        for path in [
            "/api/v1/sessions/ses_x",
            "/api/v1/sessions/ses_x/messages",
            "/api/v1/sessions/ses_x/runs/run_y/events",
        ]:
            response = await http.get(path)
            assert response.status_code == 404 and "ses_x" in response.json()["error"]["message"]
        assert (await http.post("/api/v1/sessions/ses_x/cancel")).status_code == 404
        assert (await http.delete("/api/v1/sessions/ses_x")).status_code == 404
        paging = await http.get("/api/v1/sessions", params={"limit": 0})
        assert paging.status_code == 422 and "limit" in paging.text
        assert (await http.get("/api/v1/nowhere")).status_code == 404


async def test_second_chat_on_a_running_session_is_409(start_server: StartServer) -> None:
    url = start_server(
        [Turn(text="first"), Turn(text="slow " * 200, faults={"token_delay_s": 0.01})]
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        sid = (await chat(http, message="one"))[0].session_id
        async with http.stream(
            "POST", "/api/v1/chat", json={"message": "two", "session_id": sid}
        ) as running:
            assert running.status_code == 200
            busy = await http.post("/api/v1/chat", json={"message": "three", "session_id": sid})
            assert busy.status_code == 409 and busy.json()["error"]["type"] == "session_busy"
            deleting = await http.delete(f"/api/v1/sessions/{sid}")
            assert deleting.status_code == 409


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
async def test_json_sent_as_another_type_names_the_header(
    start_server: StartServer, content_type: str
) -> None:
    # what `curl -d '{…}'` sends without -H 'Content-Type: application/json'
    url = start_server([Turn(text="ok")], allow_mcp_commands=True)
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        for path, body in [
            ("/api/v1/mcp/servers", b'{"name": "t", "url": "http://127.0.0.1:9/mcp"}'),
            ("/api/v1/chat", b'{"message": "hi"}'),
        ]:
            response = await http.post(
                path,
                content=body,
                headers={"Content-Type": content_type, "X-Sage-Client": "curl"},
            )
            assert response.status_code == 422, response.text
            message = response.json()["error"]["message"]
            assert "Content-Type: application/json" in message, message
            assert content_type in message
