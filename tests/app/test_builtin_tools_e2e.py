"""The built-in file, memory and fetch tools over real HTTP, and switching
built-in tools by setting and per request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest

from sagents.events import FileCreated, RunFinished, ToolResult
from sagents.settings import Settings
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from tests.app.conftest import StartServer, chat

CLIENT = {"X-Sage-Client": "tests"}
KEYS = {"k-alice": "alice", "k-bob": "bob"}


def calls(*steps: tuple[str, dict[str, object]], answer: str = "done") -> list[Turn]:
    """One turn per call, then the answer."""
    turns = [Turn(tool_calls=[ScriptedToolCall(name=n, arguments=a)]) for n, a in steps]
    return [*turns, Turn(text=answer)]


def results(events: list[object]) -> list[tuple[bool, str]]:
    return [(e.ok, e.content) for e in events if isinstance(e, ToolResult)]


async def test_file_tools_stay_in_the_workspace(start_server: StartServer, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    turns = calls(
        ("write_file", {"path": "notes/a.txt", "content": "hello"}),
        ("list_files", {}),
        ("read_file", {"path": "notes/a.txt"}),
        ("read_file", {"path": "../../secret.txt"}),
        ("write_file", {"path": "/notes/../../escape.txt", "content": "x"}),
        ("read_file", {"path": "link.txt"}),
    )
    url = start_server(turns, builtin_tools=["list_files", "read_file", "write_file"])
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        sid = (await http.post("/api/v1/sessions", json={})).json()["id"]
        await http.post(
            f"/api/v1/sessions/{sid}/files", files=[("files", ("seed.txt", b"s", "text/plain"))]
        )
        workspace = tmp_path / "data0" / "workspaces" / sid
        (workspace / "link.txt").symlink_to(outside)
        events = await chat(http, message="files", session_id=sid)
        got = results(events)
        assert got[0] == (True, "wrote notes/a.txt (5 bytes)")
        assert got[1][0] and "notes/a.txt  (5 bytes, text/plain)" in got[1][1]
        assert "seed.txt" in got[1][1] and "link.txt" not in got[1][1]
        assert got[2] == (True, "hello")
        assert not got[3][0] and "not a plain relative path" in got[3][1]
        assert not got[4][0] and "not a plain relative path" in got[4][1]
        assert not got[5][0] and "no file 'link.txt'" in got[5][1]
        created = [e for e in events if isinstance(e, FileCreated)]
        assert [(e.path, e.size, e.media_type) for e in created] == [
            ("notes/a.txt", 5, "text/plain")
        ]
        assert isinstance(events[-1], RunFinished)
        assert (workspace / "notes" / "a.txt").read_text() == "hello"
        assert outside.read_text() == "secret" and not (tmp_path / "escape.txt").exists()


async def test_memory_tools_use_the_callers_memory(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(
        calls(("remember", {"text": "Alice prefers green tea", "kind": "preference"})),
        api_keys=KEYS,
        builtin_tools=["remember", "recall", "forget"],
    )
    alice = httpx2.AsyncClient(
        base_url=url, timeout=60, headers={**CLIENT, "Authorization": "Bearer k-alice"}
    )
    bob = httpx2.AsyncClient(
        base_url=url, timeout=60, headers={**CLIENT, "Authorization": "Bearer k-bob"}
    )
    async with alice, bob:
        events = await chat(alice, message="remember")
        ok, text = results(events)[0]
        assert ok and text.startswith("remembered (preference), id mem_")
        memory_id = text.rsplit(" ", 1)[1]
        listed = (await alice.get("/api/v1/memory")).json()
        assert [m["id"] for m in listed] == [memory_id]

        # Bob's run cannot see or forget Alice's memory.
        mock_llm.set_script(
            calls(("recall", {"query": "tea"}), ("forget", {"memory_id": memory_id}))
        )
        got = results(await chat(bob, message="tea?"))
        assert got[0] == (True, "(nothing remembered about that)")
        assert not got[1][0] and "no memory" in got[1][1]

        mock_llm.set_script(
            calls(
                ("recall", {"query": "what does she drink"}), ("forget", {"memory_id": memory_id})
            )
        )
        got = results(await chat(alice, message="tea?"))
        assert got[0][0] and f"[{memory_id}] (preference) Alice prefers green tea" in got[0][1]
        assert got[1] == (True, f"forgot {memory_id}")
        assert (await alice.get("/api/v1/memory")).json() == []


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/page":
            self._send(200, b"hello from the page", "text/plain")
        elif self.path == "/big":
            self._send(200, b"a" * 50_000, "text/plain")
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/page")
            self.end_headers()
        elif self.path == "/away":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/page")
            self.end_headers()
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, status: int, body: bytes, media: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_fetch_url_reaches_only_allowed_hosts(start_server: StartServer, pages: str) -> None:
    port = pages.rsplit(":", 1)[1]
    turns = calls(
        ("fetch_url", {"url": f"{pages}/page"}),
        ("fetch_url", {"url": f"{pages}/hop"}),
        ("fetch_url", {"url": f"http://localhost:{port}/page"}),
        ("fetch_url", {"url": f"{pages}/away"}),
        ("fetch_url", {"url": f"{pages}/big"}),
        ("fetch_url", {"url": "file:///etc/passwd"}),
    )
    url = start_server(
        turns, builtin_tools=["fetch_url"], fetch_url_hosts=["127.0.0.1"], fetch_url_max_bytes=2048
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        got = results(await chat(http, message="fetch"))
    assert got[0] == (True, "HTTP 200 text/plain\n\nhello from the page")
    assert got[1] == got[0]
    assert not got[2][0] and "host 'localhost' is not allowed" in got[2][1]
    assert not got[3][0] and "host 'localhost' is not allowed" in got[3][1]
    assert got[4][0] and got[4][1].endswith("a" * 100 + "\n[cut at 2048 bytes]")
    assert not got[5][0] and "only http and https" in got[5][1]


def test_fetch_url_is_off_by_default() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "fetch_url" not in settings.builtin_tools
    assert "execute_python" in settings.builtin_tools and settings.fetch_url_hosts == []


async def test_switching_built_in_tools(start_server: StartServer, mock_llm: MockLLMServer) -> None:
    url = start_server(
        [Turn(text="a"), Turn(text="b"), Turn(text="c")],
        builtin_tools=["read_file", "list_files", "recall"],
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        listed = (await http.get("/api/v1/tools")).json()
        assert sorted(t["name"] for t in listed) == ["list_files", "read_file", "recall"]
        assert {t["source"] for t in listed} == {"builtin"}

        await chat(http, message="one")
        await chat(http, message="two", builtin_tools=["read_file"])
        await chat(http, message="three", builtin_tools=[])
        offered = [
            sorted(t["function"]["name"] for t in request.get("tools", []))
            for request in mock_llm.requests
        ]
        assert offered == [["list_files", "read_file", "recall"], ["read_file"], []]

        bad = await http.post("/api/v1/chat", json={"message": "x", "builtin_tools": ["rm_rf"]})
        assert bad.status_code == 422 and "builtin_tools" in bad.text
