"""Session files over real HTTP: upload, list, download, delete; names
sanitised, paths confined, links never followed, caps answered with 4xx,
and another user's session not found."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2

from sagents.events import FileCreated, ToolResult
from sagents.testing import ScriptedToolCall, Turn
from tests.app.conftest import StartServer, chat
from tests.skills.conftest import write_skill

KEYS = {"k-alice": "alice", "k-bob": "bob"}
ALICE = {"Authorization": "Bearer k-alice"}
BOB = {"Authorization": "Bearer k-bob"}
CLIENT = {"X-Sage-Client": "tests"}
"""Marks an upload as not a cross-site form (app/cross_site.py)."""


async def new_session(http: httpx2.AsyncClient, headers: dict[str, str] | None = None) -> str:
    response = await http.post("/api/v1/sessions", json={"title": "files"}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_upload_list_download_delete(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server()
    async with httpx2.AsyncClient(base_url=url, timeout=30, headers=CLIENT) as http:
        sid = await new_session(http)
        response = await http.post(
            f"/api/v1/sessions/{sid}/files",
            files=[
                ("files", ("C:\\Users\\me\\..\\sales.csv", b"region,total\nnorth,3\n", "text/csv")),
                ("files", ("../../page.html", b"<script>alert(1)</script>", "text/html")),
            ],
            data={"folder": "inbox"},
        )
        assert response.status_code == 201, response.text
        stored = response.json()
        assert [f["path"] for f in stored] == ["inbox/sales.csv", "inbox/page.html"]
        assert stored[0]["size"] == 21 and stored[0]["media_type"] == "text/csv"
        workspace = tmp_path / "data0" / "workspaces" / sid
        assert (workspace / "inbox" / "sales.csv").read_bytes() == b"region,total\nnorth,3\n"

        listed = (await http.get(f"/api/v1/sessions/{sid}/files")).json()
        assert [f["path"] for f in listed["items"]] == ["inbox/page.html", "inbox/sales.csv"]
        assert listed["total_bytes"] == 21 + 25 and listed["max_bytes"] > 0

        csv = await http.get(f"/api/v1/sessions/{sid}/files/inbox/sales.csv")
        assert csv.status_code == 200 and csv.content == b"region,total\nnorth,3\n"
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.headers["content-disposition"] == "attachment; filename*=UTF-8''sales.csv"
        assert csv.headers["x-content-type-options"] == "nosniff"
        html = await http.get(f"/api/v1/sessions/{sid}/files/inbox/page.html")
        assert html.headers["content-type"] == "application/octet-stream"
        assert "sandbox" in html.headers["content-security-policy"]

        # Uploading the same name again replaces the file.
        again = await http.post(
            f"/api/v1/sessions/{sid}/files",
            files=[("files", ("sales.csv", b"new", "text/csv"))],
            data={"folder": "inbox"},
        )
        assert again.status_code == 201
        assert (workspace / "inbox" / "sales.csv").read_bytes() == b"new"

        assert (
            await http.delete(f"/api/v1/sessions/{sid}/files/inbox/sales.csv")
        ).status_code == 204
        gone = await http.get(f"/api/v1/sessions/{sid}/files/inbox/sales.csv")
        assert gone.status_code == 404 and gone.json()["error"]["type"] == "not_found"
        assert (await http.delete(f"/api/v1/sessions/{sid}/files/inbox")).status_code == 204
        assert (await http.get(f"/api/v1/sessions/{sid}/files")).json()["items"] == []
        missing = await http.delete(f"/api/v1/sessions/{sid}/files/inbox")
        assert missing.status_code == 404


async def test_paths_are_confined_and_links_never_followed(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    async with httpx2.AsyncClient(base_url=url, timeout=30, headers=CLIENT) as http:
        sid = await new_session(http)
        bad = await http.post(
            f"/api/v1/sessions/{sid}/files",
            files=[("files", ("a.txt", b"a", "text/plain"))],
            data={"folder": "../escape"},
        )
        assert bad.status_code == 422 and bad.json()["error"]["type"] == "bad_path"
        dots = await http.post(
            f"/api/v1/sessions/{sid}/files", files=[("files", ("..", b"a", "text/plain"))]
        )
        assert dots.status_code == 422 and dots.json()["error"]["type"] == "bad_file_name"
        up = await http.get(f"/api/v1/sessions/{sid}/files/a/%2E%2E/%2E%2E/secret.txt")
        assert up.status_code == 422

        # Links planted in the workspace (as a script of an older version
        # might have left them) are not listed, served, or written through.
        ok = await http.post(
            f"/api/v1/sessions/{sid}/files", files=[("files", ("a.txt", b"a", "text/plain"))]
        )
        assert ok.status_code == 201
        workspace = tmp_path / "data0" / "workspaces" / sid
        os.symlink(outside / "secret.txt", workspace / "link.txt")
        os.symlink(outside, workspace / "linkdir")
        listed = (await http.get(f"/api/v1/sessions/{sid}/files")).json()["items"]
        assert [f["path"] for f in listed] == ["a.txt"]
        for path in ("link.txt", "linkdir/secret.txt"):
            response = await http.get(f"/api/v1/sessions/{sid}/files/{path}")
            assert response.status_code == 404, path
        through = await http.post(
            f"/api/v1/sessions/{sid}/files",
            files=[("files", ("secret.txt", b"overwritten", "text/plain"))],
            data={"folder": "linkdir"},
        )
        assert through.status_code == 409, through.text
        assert (outside / "secret.txt").read_text() == "secret"
        assert (await http.delete(f"/api/v1/sessions/{sid}/files/link.txt")).status_code == 204
        assert (outside / "secret.txt").read_text() == "secret"


async def test_caps(start_server: StartServer) -> None:
    url = start_server(
        session_upload_max_files=2, session_upload_max_bytes=400_000, skill_workspace_mb=1
    )
    async with httpx2.AsyncClient(base_url=url, timeout=30, headers=CLIENT) as http:
        sid = await new_session(http)
        path = f"/api/v1/sessions/{sid}/files"
        three = [("files", (f"{i}.txt", b"x", "text/plain")) for i in range(3)]
        response = await http.post(path, files=three)
        assert response.status_code == 413 and response.json()["error"]["type"] == "too_many_files"
        big = await http.post(path, files=[("files", ("big.bin", b"x" * 500_000, "x/y"))])
        assert big.status_code == 413 and big.json()["error"]["type"] == "payload_too_large"
        # 6 files of 190 KB fit each request but not a 1 MB workspace: the
        # request that would pass it stores nothing.
        for i in range(2):
            fits = await http.post(
                path,
                files=[("files", (f"f{i}{j}.bin", b"y" * 190_000, "x/y")) for j in range(2)],
            )
            assert fits.status_code == 201, fits.text
        full = await http.post(
            path, files=[("files", (f"g{j}.bin", b"y" * 190_000, "x/y")) for j in range(2)]
        )
        assert full.status_code == 413 and full.json()["error"]["type"] == "workspace_full"
        names = [f["path"] for f in (await http.get(path)).json()["items"]]
        assert names == ["f00.bin", "f01.bin", "f10.bin", "f11.bin"]


async def test_another_users_session_is_not_found(start_server: StartServer) -> None:
    url = start_server(api_keys=KEYS)
    async with httpx2.AsyncClient(base_url=url, timeout=30, headers=CLIENT) as http:
        sid = await new_session(http, ALICE)
        stored = await http.post(
            f"/api/v1/sessions/{sid}/files",
            files=[("files", ("mine.txt", b"alice's", "text/plain"))],
            headers=ALICE,
        )
        assert stored.status_code == 201
        base = f"/api/v1/sessions/{sid}/files"
        attempts = [
            await http.get(base, headers=BOB),
            await http.get(f"{base}/mine.txt", headers=BOB),
            await http.delete(f"{base}/mine.txt", headers=BOB),
            await http.post(base, files=[("files", ("x.txt", b"bob", "text/plain"))], headers=BOB),
        ]
        assert [r.status_code for r in attempts] == [404] * 4
        assert (await http.get(f"{base}/mine.txt", headers=ALICE)).content == b"alice's"


WRITE = """
    import sys
    with open(sys.argv[1], "w") as handle:
        handle.write("made by a script")
"""


async def test_a_script_that_writes_a_file_announces_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    bundled = tmp_path / "bundled"
    write_skill(bundled, "writer", "Writes a file.", "Run write.py.", {"write.py": WRITE})
    call = ScriptedToolCall(
        name="run_skill_script",
        arguments={"name": "writer", "script": "write.py", "args": ["report.txt"]},
    )
    url = start_server(
        [
            Turn(role="skill_select", json={"use_skill": True, "skill": "writer", "reason": "r"}),
            Turn(role="simple", tool_calls=[call]),
            Turn(role="simple", text="done"),
        ],
        skills_bundled_dir=bundled,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60, headers=CLIENT) as http:
        events = await chat(http, message="write a report")
        created = [e for e in events if isinstance(e, FileCreated)]
        assert [(e.path, e.size, e.media_type) for e in created] == [
            ("report.txt", 16, "text/plain")
        ]
        result = next(e for e in events if isinstance(e, ToolResult))
        assert created[0].call_id == result.call_id
        assert [e.type for e in events].index("file.created") < [e.type for e in events].index(
            "tool.result"
        )
        sid = events[0].session_id
        download = await http.get(f"/api/v1/sessions/{sid}/files/report.txt")
        assert download.content == b"made by a script"
