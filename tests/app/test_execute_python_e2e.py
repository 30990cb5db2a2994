"""``execute_python`` over real HTTP, in the real sandbox (bubblewrap): a
result and a file to download; no network and no writes outside the
workspace; a cancel kills the code; an uploaded CSV summarised."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx2

from sagents.events import FileCreated, RunCancelled, RunFinished, ToolCalled, ToolResult
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from tests.app.conftest import SIMPLE, StartServer, chat, sse_events

CLIENT = {"X-Sage-Client": "tests"}
PYTHON = ["execute_python"]


def run_code(code: str, answer: str = "done") -> list[Turn]:
    call = ScriptedToolCall(name="execute_python", arguments={"code": code})
    return [Turn(tool_calls=[call]), Turn(text=answer)]


def result_of(events: list[object]) -> tuple[bool, dict[str, object]]:
    result = next(e for e in events if isinstance(e, ToolResult))
    # A failure reads "CodeFailed: {json}", as a failed skill script's does.
    text = result.content if result.ok else result.content.split(": ", 1)[1]
    return result.ok, json.loads(text)


async def test_computes_and_writes_a_file_to_download(start_server: StartServer) -> None:
    code = (
        "total = sum(range(1, 101))\n"
        "print('total', total)\n"
        "with open('out/result.txt', 'w') as f:\n"
        "    f.write(str(total))\n"
    )
    url = start_server(run_code("import os\nos.makedirs('out')\n" + code), builtin_tools=PYTHON)
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        tools = [t["name"] for t in (await http.get("/api/v1/tools")).json()]
        assert tools == ["execute_python"]
        events = await chat(http, message="add 1..100")
        ok, payload = result_of(events)
        assert ok, payload
        assert payload["stdout"] == "total 5050\n" and payload["files"] == ["out/result.txt"]
        created = [e for e in events if isinstance(e, FileCreated)]
        assert [(e.path, e.size) for e in created] == [("out/result.txt", 4)]
        assert isinstance(events[-1], RunFinished)
        sid = events[0].session_id
        download = await http.get(f"/api/v1/sessions/{sid}/files/out/result.txt")
        assert download.status_code == 200 and download.content == b"5050"


async def test_no_network_and_no_writes_outside(
    start_server: StartServer, mock_llm: MockLLMServer, tmp_path: Path
) -> None:
    port = mock_llm.base_url.split(":")[2].split("/")[0]
    sock = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
    outside = tmp_path / "outside.txt"
    write = f"open({str(outside)!r}, 'w').write('escaped')\n"
    etc = "open('/etc/sage-was-here', 'w').write('x')\n"
    turns = run_code(sock) + run_code(write) + run_code(etc)
    url = start_server(turns, builtin_tools=PYTHON)
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        for expected in ("ConnectionRefusedError", "Error", "Error"):
            events = await chat(http, message="try")
            ok, payload = result_of(events)
            assert not ok and payload["exit_code"] == 1, payload
            assert expected in str(payload["stderr"]), payload
            assert isinstance(events[-1], RunFinished)
    assert not any_exists(outside, Path("/etc/sage-was-here"))


def any_exists(*paths: Path) -> bool:
    return any(path.exists() for path in paths)


def runner_processes() -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"run_code.py" in cmdline and b"sage-sleeps-here" not in cmdline:
            found.append(int(pid))
    return found


async def test_cancel_kills_the_code(start_server: StartServer) -> None:
    code = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n"
    url = start_server(run_code(code), builtin_tools=PYTHON, skill_wall_s=300)
    before = set(runner_processes())
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        body = {**SIMPLE, "message": "sleep"}
        events = []
        async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
            events.append(event)
            if isinstance(event, ToolCalled):
                for _ in range(100):  # the code is running once its process is there
                    if set(runner_processes()) - before:
                        break
                    await asyncio.sleep(0.1)
                assert set(runner_processes()) - before, "the code never started"
                response = await http.post(f"/api/v1/sessions/{event.session_id}/cancel")
                assert response.status_code == 202
        assert isinstance(events[-1], RunCancelled)
    for _ in range(50):
        if not set(runner_processes()) - before:
            break
        await asyncio.sleep(0.1)
    assert not set(runner_processes()) - before


async def test_upload_a_csv_summarise_download(start_server: StartServer) -> None:
    code = (
        "import csv\n"
        "rows = list(csv.DictReader(open('sales.csv')))\n"
        "by = {}\n"
        "for r in rows:\n"
        "    by[r['region']] = by.get(r['region'], 0) + int(r['amount'])\n"
        "with open('summary.csv', 'w', newline='') as f:\n"
        "    w = csv.writer(f)\n"
        "    w.writerow(['region', 'total'])\n"
        "    for k in sorted(by):\n"
        "        w.writerow([k, by[k]])\n"
        "print(len(rows), 'rows')\n"
    )
    url = start_server(run_code(code, "Summary in summary.csv"), builtin_tools=PYTHON)
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        sid = (await http.post("/api/v1/sessions", json={})).json()["id"]
        data = b"region,amount\nnorth,3\nsouth,5\nnorth,4\n"
        upload = await http.post(
            f"/api/v1/sessions/{sid}/files", files=[("files", ("sales.csv", data, "text/csv"))]
        )
        assert upload.status_code == 201
        events = await chat(http, message="summarise sales.csv by region", session_id=sid)
        ok, payload = result_of(events)
        assert ok and payload["stdout"] == "3 rows\n", payload
        assert isinstance(events[-1], RunFinished)
        summary = await http.get(f"/api/v1/sessions/{sid}/files/summary.csv")
        assert summary.content.replace(b"\r\n", b"\n") == b"region,total\nnorth,7\nsouth,5\n"
