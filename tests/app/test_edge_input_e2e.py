"""The bad inputs property-based fuzzing found, each a 4xx naming the problem
(they were 500s): huge offsets, odd Last-Event-IDs, lone surrogates; plus
the 405 Allow header and JSON-schema strictness of flags and counts."""

from __future__ import annotations

import httpx2
import pytest

from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer, chat

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def http(start_server: StartServer) -> httpx2.AsyncClient:
    url = start_server([Turn(text="ok")] * 10, allow_mcp_commands=True)
    return httpx2.AsyncClient(base_url=url, timeout=10)


def assert_4xx(response: httpx2.Response, status: int, needle: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert needle in error["message"] + str(error.get("details", "")), response.text


@pytest.mark.parametrize("offset", [2**64, 2**63, 10**30, -1, "1e3", "٣"])
async def test_offset_beyond_64_bits_is_a_422(http: httpx2.AsyncClient, offset: object) -> None:
    async with http:
        response = await http.get("/api/v1/sessions", params={"offset": str(offset)})
        assert_4xx(response, 422, "offset")


async def test_offsets_past_the_end_are_an_empty_page(http: httpx2.AsyncClient) -> None:
    async with http:
        page = (await http.get("/api/v1/sessions", params={"offset": 2**62})).json()
        assert page["items"] == [] and page["offset"] == 2**62


async def test_odd_last_event_ids_are_a_400(http: httpx2.AsyncClient) -> None:
    async with http:
        first = (await chat(http, message="hi"))[0]
        url = f"/api/v1/sessions/{first.session_id}/runs/{first.run_id}/events"
        for raw in ["٣".encode(), "²".encode("latin-1"), b"9" * 5000, b"1" * 19, b"0x10", b"+3"]:
            response = await http.get(url, headers={"Last-Event-ID": raw})
            assert_4xx(response, 400, "Last-Event-ID")
            assert response.json()["error"]["type"] == "bad_last_event_id"
        for value in ["٣", "9" * 5000, "¹"]:
            assert_4xx(await http.get(url, params={"after": value}), 400, "Last-Event-ID")
            # A valid header does not hide an invalid ``after`` (schemathesis ST201).
            both = await http.get(url, params={"after": value}, headers={"Last-Event-ID": "2"})
            assert_4xx(both, 400, "Last-Event-ID")
        # What the document allows still works: empty means from the start.
        for raw in [b"", b"2"]:
            async with http.stream("GET", url, headers={"Last-Event-ID": raw}) as stream:
                assert stream.status_code == 200
        async with http.stream("GET", url, params={"after": " 2 "}) as stream:
            assert stream.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (rb'{"message": "\ud800"}', "message"),
        (rb'{"message": "ok \udfff then"}', "message"),
        (rb'{"message": "hi", "session_id": "\ud800"}', "session_id"),
        (rb'{"message": "hi", "system_context": {"k": "\udc00"}}', "system_context.k"),
        (rb'{"message": "hi", "system_context": {"\ud800": "v"}}', "system_context"),
        (rb'{"message": "hi", "available_tools": ["\ud800"]}', "available_tools.0"),
        (rb'{"message": "hi", "available_workflows": [{"name": "\ud800"}]}', "name"),
        (
            rb'{"message": "hi", "available_workflows": [{"name": "w", "steps": ["\ud800"]}]}',
            "steps",
        ),
    ],
)
async def test_lone_surrogates_in_a_chat_are_a_422_naming_the_field(
    http: httpx2.AsyncClient, body: bytes, field: str
) -> None:
    async with http:
        response = await http.post("/api/v1/chat", content=body, headers=JSON)
        assert_4xx(response, 422, field)
        assert response.json()["error"]["type"] == "validation_error"
        assert (await http.get("/api/v1/sessions")).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/memory/search", rb'{"query": "\ud800"}', "query"),
        ("/api/v1/mcp/servers", rb'{"name": "a", "command": "\ud800"}', "command"),
        ("/api/v1/mcp/servers", rb'{"name": "a", "command": "c", "args": ["\ud800"]}', "args.0"),
        ("/api/v1/mcp/servers", rb'{"name": "a", "command": "c", "env": {"K": "\ud800"}}', "env"),
        ("/api/v1/mcp/servers", rb'{"name": "a", "url": "http://127.0.0.1:9/\ud800"}', "url"),
        ("/api/v1/mcp/servers", rb'{"name": "\ud800", "url": "http://127.0.0.1:9/m"}', "name"),
    ],
)
async def test_lone_surrogates_elsewhere_are_a_422(
    http: httpx2.AsyncClient, path: str, body: bytes, field: str
) -> None:
    async with http:
        assert_4xx(await http.post(path, content=body, headers=JSON), 422, field)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"force_summary": 0}, "force_summary"),
        ({"deep_thinking": "yes"}, "deep_thinking"),
        ({"max_loop_count": "5"}, "max_loop_count"),
        ({"max_loop_count": True}, "max_loop_count"),
        ({"max_loop_count": 2.5}, "max_loop_count"),
        ({"message": ""}, "message"),
        ({"message": " \t\n"}, "message"),
    ],
)
async def test_flags_and_counts_take_what_the_schema_says(
    http: httpx2.AsyncClient, extra: dict[str, object], field: str
) -> None:
    async with http:
        response = await http.post("/api/v1/chat", json={"message": "hi", **SIMPLE, **extra})
        assert_4xx(response, 422, field)


async def test_an_integral_float_is_an_integer(http: httpx2.AsyncClient) -> None:
    # JSON Schema's "integer" includes 3.0, so the server takes it.
    async with http:
        events = await chat(http, message="hi", max_loop_count=3.0)
        assert events[-1].type == "run.finished"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/mcp/servers/x", "DELETE, GET, PATCH"),
        ("POST", "/api/v1/sessions/ses_x", "DELETE, GET"),
        ("OPTIONS", "/api/v1/memory/search", "POST"),
        ("DELETE", "/api/v1/chat", "POST"),
    ],
)
async def test_405_lists_every_allowed_method(
    http: httpx2.AsyncClient, method: str, path: str, allowed: str
) -> None:
    async with http:
        response = await http.request(method, path)
        assert response.status_code == 405
        assert response.headers["allow"] == allowed
        assert_4xx(response, 405, allowed)
