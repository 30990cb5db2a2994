"""Over HTTP: deleting a session deletes its skill workspace, and only that.

A chat runs a real script in the sandbox that leaves a file in the
session's workspace; ``DELETE /api/v1/sessions/{id}`` then removes the
workspace folder without following a link planted in it and without
touching another session's workspace.
"""

from __future__ import annotations

from pathlib import Path

import httpx2

from sagents.events import RunFinished, ToolResult
from sagents.testing import ScriptedToolCall, Turn
from tests.app.conftest import StartServer, chat
from tests.skills.conftest import write_skill

WRITE = """
    import sys
    with open(sys.argv[1], "w") as handle:
        handle.write("kept")
    print("wrote", sys.argv[1])
"""


def turns(file: str) -> list[Turn]:
    call = ScriptedToolCall(
        name="run_skill_script",
        arguments={"name": "writer", "script": "write.py", "args": [file]},
    )
    return [
        Turn(role="skill_select", json={"use_skill": True, "skill": "writer", "reason": "r"}),
        Turn(role="simple", tool_calls=[call]),
        Turn(role="simple", text="done"),
    ]


async def test_deleting_a_session_deletes_its_workspace(
    start_server: StartServer, tmp_path: Path
) -> None:
    bundled = tmp_path / "bundled"
    write_skill(bundled, "writer", "Writes a file.", "Run write.py.", {"write.py": WRITE})
    url = start_server(turns("a.txt") + turns("b.txt"), skills_bundled_dir=bundled)
    workspaces = tmp_path / "data0" / "workspaces"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("precious")
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        first = await chat(http, message="write a")
        second = await chat(http, message="write b")
        for events in (first, second):
            results = [e for e in events if isinstance(e, ToolResult)]
            assert results and results[0].ok, results
            assert isinstance(events[-1], RunFinished)
        gone, kept = first[0].session_id, second[0].session_id
        assert (workspaces / gone / "a.txt").read_text() == "kept"
        assert (workspaces / kept / "b.txt").read_text() == "kept"
        # A link left in a workspace (by a script of an older version, or by
        # hand) must be removed, never followed.
        (workspaces / gone / "escape").symlink_to(outside)

        response = await http.delete(f"/api/v1/sessions/{gone}")
        assert response.status_code == 204

        assert not (workspaces / gone).exists()
        assert (outside / "precious.txt").read_text() == "precious"
        assert (workspaces / kept / "b.txt").read_text() == "kept"
        assert (await http.get(f"/api/v1/sessions/{gone}")).status_code == 404
