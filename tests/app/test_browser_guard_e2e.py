"""Local mode that no web page can drive: a DNS-rebinding page (foreign Host)
and a cross-site page (form, no-preflight fetch) are refused, while the CLI,
curl and Sage's own same-origin page keep working. Real server on loopback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from app.main import create_app
from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer, chat, sse_events
from tests.app.test_skills_api_e2e import good, make_zip
from tests.conftest import BUNDLED_SKILLS, make_settings

CHAT = {**SIMPLE, "message": "hi"}
EVIL = "http://evil.example"


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


async def session_count(http: httpx2.AsyncClient) -> int:
    total: int = (await http.get("/api/v1/sessions")).json()["total"]
    return total


def refused(response: httpx2.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == error_type, response.text


@pytest.fixture
def local(start_server: StartServer) -> str:
    return start_server([Turn(text="ok")] * 10)


async def test_dns_rebinding_page_reads_no_session(local: str) -> None:
    async with httpx2.AsyncClient(base_url=local, timeout=10) as http:
        session_id = (await chat(http, message="my secret plans"))[0].session_id
        for host in [
            "evil.example",
            f"evil.example:{port_of(local)}",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "evil.localhost",
            "127.0.0.1:8080:80",
            "[::2]:8080",
        ]:
            for path in ["/api/v1/sessions", f"/api/v1/sessions/{session_id}/messages"]:
                response = await http.get(path, headers={"Host": host})
                refused(response, 400, "untrusted_host")
                assert session_id not in response.text and "secret" not in response.text
        # The page cannot write through the rebound name either.
        post = await http.post("/api/v1/chat", json=CHAT, headers={"Host": "evil.example"})
        refused(post, 400, "untrusted_host")
        assert await session_count(http) == 1


async def test_a_request_without_host_is_refused_in_local_mode(local: str) -> None:
    port = port_of(local)

    def raw_get() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /api/v1/sessions HTTP/1.0\r\n\r\n")
            return b"".join(iter(lambda: sock.recv(65536), b""))

    answer = await asyncio.to_thread(raw_get)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"untrusted_host" in answer and b"no Host header" in answer


async def test_every_loopback_host_form_is_served(local: str) -> None:
    port = port_of(local)
    async with httpx2.AsyncClient(base_url=local, timeout=10) as http:
        for host in [
            f"127.0.0.1:{port}",
            "127.0.0.1",
            f"localhost:{port}",
            "LocalHost",
            f"[::1]:{port}",
            "[::1]",
            "[0:0:0:0:0:0:0:1]",
            "127.0.0.2:1234",
        ]:
            response = await http.get("/api/v1/sessions", headers={"Host": host})
            assert response.status_code == 200, (host, response.text)


async def test_trusted_hosts_extend_the_local_allow_list(start_server: StartServer) -> None:
    url = start_server(trusted_hosts=["sage.example.org", "*.corp.example", "[2001:db8::1]"])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        for host in ["sage.example.org:80", "SAGE.example.org", "a.corp.example", "[2001:db8::1]"]:
            ok = await http.get("/api/v1/sessions", headers={"Host": host})
            assert ok.status_code == 200, (host, ok.text)
        for host in ["corp.example", "evil.example", "sage.example.org.evil.example"]:
            response = await http.get("/api/v1/sessions", headers={"Host": host})
            refused(response, 400, "untrusted_host")
        assert (await http.get("/healthz", headers={"Host": "localhost"})).status_code == 200


@pytest.mark.parametrize("pattern", ["sage.example.org:8080", "*", "a.*.example", "*example.org"])
def test_a_bad_trusted_host_pattern_fails_at_start(tmp_path: Path, pattern: str) -> None:
    if pattern == "*":  # "*" is valid: it turns the check off
        create_app(make_settings(tmp_path, trusted_hosts=[pattern]))
        return
    with pytest.raises(ValueError, match="SAGE_TRUSTED_HOSTS"):
        create_app(make_settings(tmp_path, trusted_hosts=[pattern]))


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},  # another port is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_origin_post_in_local_mode_is_refused(
    local: str, headers: dict[str, str]
) -> None:
    async with httpx2.AsyncClient(base_url=local, timeout=10) as http:
        response = await http.post("/api/v1/chat", json=CHAT, headers=headers)
        refused(response, 403, "cross_site")
        assert "cross-site request refused" in response.json()["error"]["message"]
        assert await session_count(http) == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/chat", b'{"message": "hi", "deep_thinking": false, "multi_agent": false}'),
        ("/api/v1/mcp/servers", b'{"name": "pwn", "command": "touch", "args": ["/tmp/pwned"]}'),
    ],
)
@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8", None])
async def test_simple_request_posts_are_refused(
    local: str, path: str, body: bytes, content_type: str | None
) -> None:
    """What a form or a no-cors fetch from another site sends: a text/plain
    (or untyped) body and no Origin (an old browser sends none)."""
    headers = {"Content-Type": content_type} if content_type else {}
    async with httpx2.AsyncClient(base_url=local, timeout=10) as http:
        response = await http.post(path, content=body, headers=headers)
        assert ("content-type" in response.request.headers) == (content_type is not None)
        refused(response, 403, "cross_site")
        assert await session_count(http) == 0
        servers = (await http.get("/api/v1/mcp/servers")).json()["servers"]
        assert "pwn" not in {server["name"] for server in servers}


@pytest.mark.parametrize("headers", [{}, {"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}])
async def test_cross_site_multipart_upload_installs_no_skill(
    local: str, headers: dict[str, str]
) -> None:
    archive = make_zip(good("planted"))
    async with httpx2.AsyncClient(base_url=local, timeout=10) as http:
        response = await http.post(
            "/api/v1/skills", files={"file": ("planted.zip", archive)}, headers=headers
        )
        refused(response, 403, "cross_site")
        assert (await http.get("/api/v1/skills/planted")).status_code == 404
        # The same upload from a client that says it is one (the CLI does) works.
        ok = await http.post(
            "/api/v1/skills",
            files={"file": ("planted.zip", archive)},
            headers={"X-Sage-Client": "curl"},
        )
        assert ok.status_code == 201, ok.text


async def test_same_origin_page_cli_and_curl_keep_working(local: str) -> None:
    port = port_of(local)
    async with httpx2.AsyncClient(base_url=local, timeout=10) as http:
        # Sage's own page: a same-origin fetch carries a matching Origin.
        for origin, host in [
            (f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"),
            (f"http://localhost:{port}", f"localhost:{port}"),
            (f"http://[::1]:{port}", f"[::1]:{port}"),
        ]:
            page = {"Origin": origin, "Host": host, "Sec-Fetch-Site": "same-origin"}
            async with http.stream("POST", "/api/v1/chat", json=CHAT, headers=page) as stream:
                assert stream.status_code == 200
                await stream.aread()
        # The CLI and curl: JSON and no Origin; a typed-URL navigation says "none".
        assert len(await chat(http, message="from the terminal")) > 2
        typed = sse_events(
            http, "POST", "/api/v1/chat", json=CHAT, headers={"Sec-Fetch-Site": "none"}
        )
        assert [e async for e in typed][-1].type == "run.finished"
        # A bodyless POST (cancel) reaches its route: 404 for an unknown session.
        refused(await http.post("/api/v1/sessions/ses_nope/cancel"), 404, "not_found")
        # Reading is never refused for a missing Origin or a cross-site fetch
        # (the browser does not let the other site read the answer).
        listed = await http.get("/api/v1/sessions", headers={"Sec-Fetch-Site": "cross-site"})
        assert listed.status_code == 200 and listed.json()["total"] == 5


async def test_with_api_keys_host_is_open_and_cross_site_still_refused(
    start_server: StartServer,
) -> None:
    url = start_server(
        [Turn(text="ok")] * 5, api_keys={"k-alice": "alice"}, skills_bundled_dir=BUNDLED_SKILLS
    )
    alice = {"Authorization": "Bearer k-alice"}
    archive = make_zip(good("keyed"))
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        # The bearer key guards the data; any Host is served.
        served = await http.get("/api/v1/sessions", headers={**alice, "Host": "sage.example.org"})
        assert served.status_code == 200
        anonymous = await http.get("/api/v1/sessions", headers={"Host": "sage.example.org"})
        refused(anonymous, 401, "unauthorized")
        # A page on another site still cannot make state-changing requests.
        for headers in [{"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}]:
            response = await http.post("/api/v1/chat", json=CHAT, headers={**alice, **headers})
            refused(response, 403, "cross_site")
        # A multipart upload is vouched for by the key; without one it is a 401.
        files = {"file": ("keyed.zip", archive)}
        refused(await http.post("/api/v1/skills", files=files), 401, "unauthorized")
        created = await http.post("/api/v1/skills", files=files, headers=alice)
        assert created.status_code == 201, created.text


async def test_with_api_keys_trusted_hosts_still_apply(start_server: StartServer) -> None:
    url = start_server(api_keys={"k-alice": "alice"}, trusted_hosts=["sage.example.org"])
    alice = {"Authorization": "Bearer k-alice"}
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        ok = await http.get("/api/v1/sessions", headers={**alice, "Host": "sage.example.org"})
        assert ok.status_code == 200
        refused(
            await http.get("/api/v1/sessions", headers={**alice, "Host": "evil.example"}),
            400,
            "untrusted_host",
        )
