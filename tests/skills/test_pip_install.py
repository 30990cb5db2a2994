"""pip, run on the host for a skill's requirements, never sees Sage's own
environment: only the child defaults, the network variables, pip's own
``PIP_*`` configuration and what Sage sets for it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sagents.skills.pip_install import PipOptions, pip_install


def _children_running_pip() -> list[int]:
    """This process's child processes whose command line runs pip."""
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = stat.rsplit(")", 1)[1].split()[1]
        if ppid == me and b"\0pip\0" in cmdline:
            found.append(int(entry.name))
    return found


def _environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


async def test_pip_gets_a_clean_environment_plus_its_own_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGE_LLM_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("UNRELATED_SECRET", "also-not")
    monkeypatch.setenv("PIP_NO_COLOR", "1")  # pip's own configuration is honoured
    for proxy in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)  # the index below is on loopback
    asked = asyncio.Event()
    release = asyncio.Event()

    async def index_page(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A find-links page that answers once the test has looked at pip."""
        await reader.readuntil(b"\r\n\r\n")
        asked.set()
        await release.wait()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(index_page, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    work = tmp_path / "work"
    work.mkdir()
    options = PipOptions(find_links=(f"http://127.0.0.1:{port}/",), no_index=True, timeout_s=60)
    installing = asyncio.create_task(pip_install(["nothing-here"], work / "target", work, options))
    try:
        await asyncio.wait_for(asked.wait(), 60)
        [pid] = _children_running_pip()
        env = _environment_of(pid)
    finally:
        release.set()
        outcome = await installing
        server.close()
        await server.wait_closed()
    assert not outcome.ok  # the page lists nothing
    assert "SAGE_LLM_API_KEY" not in env and "UNRELATED_SECRET" not in env
    assert not any("sk-must-not-leak" in value for value in env.values())
    assert env["PIP_NO_COLOR"] == "1"
    assert env["TMPDIR"] == str(work / "tmp")
    assert env["PATH"] == os.environ["PATH"]
