"""The OpenAPI document states every error answer, with the error body's
schema, and constraints that match what the server accepts."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.app.conftest import StartServer

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


async def openapi(url: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        spec: dict[str, Any] = (await http.get("/openapi.json")).json()
    return spec


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


async def test_every_operation_documents_its_errors_as_the_error_body(
    start_server: StartServer,
) -> None:
    spec = await openapi(start_server())
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorBody"]["required"]) == {"error"}
    assert {"type", "message"} <= set(schemas["ErrorInfo"]["required"])
    assert "HTTPValidationError" not in schemas
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        expected = {"400"}
        if method != "get":
            expected |= {"403"}
        if method in ("post", "put", "patch"):
            expected |= {"408", "413"}
        if operation.get("parameters") or operation.get("requestBody"):
            expected.add("422")
        assert expected <= set(responses), (method, path, sorted(responses))
        for code, response in responses.items():
            if int(code) >= 400:
                content = response["content"]
                assert content == {"application/json": {"schema": ERROR_REF}}, (path, code)
        assert "security" not in operation  # no keys: nothing needs one
    chat = spec["paths"]["/api/v1/chat"]["post"]["responses"]
    assert {"200", "400", "403", "404", "408", "409", "413", "422"} <= set(chat)
    assert "text/event-stream" in chat["200"]["content"]
    mcp = spec["paths"]["/api/v1/mcp/servers/{name}"]
    assert {"404", "409"} <= set(mcp["delete"]["responses"])
    events = spec["paths"]["/api/v1/sessions/{session_id}/runs/{run_id}/events"]["get"]
    assert {"404", "410"} <= set(events["responses"])


async def test_the_schema_says_what_the_server_accepts(start_server: StartServer) -> None:
    spec = await openapi(start_server())
    chat_request = spec["components"]["schemas"]["ChatRequest"]["properties"]
    message = chat_request["message"]
    assert message["minLength"] == 1 and message["pattern"] == r"[^ \t\n\v\f\r]"
    loop = chat_request["max_loop_count"]["anyOf"][0]
    assert loop == {"type": "integer", "minimum": 1, "maximum": 100}
    listing = spec["paths"]["/api/v1/sessions"]["get"]["parameters"]
    offset = next(p for p in listing if p["name"] == "offset")["schema"]
    assert offset["minimum"] == 0 and offset["maximum"] < 2**63
    events = spec["paths"]["/api/v1/sessions/{session_id}/runs/{run_id}/events"]["get"]
    header = next(p for p in events["parameters"] if p["name"] == "last-event-id")["schema"]
    assert header["type"] == "string" and "[0-9]{0,18}" in header["pattern"]
    registration = spec["paths"]["/api/v1/mcp/servers"]["post"]["requestBody"]["content"]
    schema_ref = registration["application/json"]["schema"]["$ref"]
    name = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]["properties"]["name"]
    assert name["pattern"].startswith("^[A-Za-z0-9]")


async def test_with_keys_the_bearer_scheme_and_401_are_documented(
    start_server: StartServer,
) -> None:
    spec = await openapi(start_server(api_keys={"k": "alice"}))
    schemes = spec["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    for method, path, operation in operations(spec):
        if path == "/healthz":
            assert "security" not in operation and "401" not in operation["responses"]
        else:
            assert operation["security"], (method, path)
            assert "401" in operation["responses"], (method, path)
