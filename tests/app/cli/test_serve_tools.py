"""``sage serve --tools`` and ``SAGE_TOOLS``: a user's own ``@tool`` module,
from a folder of its own, offered by the real service and called in a chat;
a module that cannot be loaded stops start-up with one message."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx2

from sagents.events import RunFinished, ToolResult
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from tests.app.conftest import chat
from tests.app.server_process import free_port, stop, wait_ready

SHOUT = '''
from sagents.tools import tool


@tool
def shout(text: str) -> str:
    """Say it louder."""
    return text.upper() + "!"


@tool
async def count_letters(text: str) -> int:
    """How many letters."""
    return sum(ch.isalpha() for ch in text)


_hidden = shout  # the same spec under a private name: registered once
'''

WEATHER = '''
from sagents.tools import tool


@tool(name="weather")
def forecast(city: str) -> str:
    """Tomorrow's weather."""
    return f"sunny in {city}"
'''


def serve(
    data: Path, llm_url: str, *args: str, pythonpath: Path | None = None, **env: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    paths = [str(pythonpath)] if pythonpath else []
    paths += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    paths.append(str(Path(__file__).resolve().parents[3]))  # this checkout's sagents/app
    proc = subprocess.Popen(
        # -P: the working directory is not put on sys.path by Python, as
        # with the installed ``sage`` script; the command must do it itself.
        [sys.executable, "-P", "-m", "app", "serve", "--port", str(port), *args],
        env=clean
        | {
            "PYTHONPATH": os.pathsep.join(paths),
            "SAGE_DATA_DIR": str(data),
            "SAGE_LLM_BASE_URL": llm_url,
            "SAGE_LLM_MODEL": "mock",
            "SAGE_LLM_API_KEY": "k",
            "SAGE_MEMORY_ENABLED": "false",
            "SAGE_SKILLS_BUNDLED_DIR": str(data / "no-skills"),
            "SAGE_MCP_SETTINGS_PATH": "",
            "SAGE_BUILTIN_TOOLS": "",
        }
        | env,
        cwd=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return proc, f"http://127.0.0.1:{port}"


async def test_tools_from_a_module_and_sage_tools_are_listed_and_called(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    folder = tmp_path / "user-code"
    (folder / "acme").mkdir(parents=True)
    (folder / "acme" / "__init__.py").write_text("")
    (folder / "acme" / "loud.py").write_text(SHOUT)
    (folder / "weather_tools.py").write_text(WEATHER)
    # An installed distribution offering tools through the entry point group.
    dist = folder / "sage_extra-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sage-extra\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[sage.tools]\nextra = extra_tools:greet\n")
    (folder / "extra_tools.py").write_text(
        "from sagents.tools import tool\n\n@tool\ndef greet(name: str) -> str:\n"
        '    """Greet someone."""\n    return "hello " + name\n'
    )
    data = tmp_path / "data"
    data.mkdir()
    mock_llm.set_script(
        [
            Turn(tool_calls=[ScriptedToolCall(name="shout", arguments={"text": "hi"})]),
            Turn(text="done"),
        ]
    )
    proc, url = serve(
        data,
        mock_llm.base_url,
        "--tools",
        "acme.loud",
        pythonpath=folder,
        SAGE_TOOLS="weather_tools",
    )
    try:
        wait_ready(url, proc)
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            listed = (await http.get("/api/v1/tools")).json()
            assert sorted(t["name"] for t in listed) == [
                "count_letters",
                "greet",
                "shout",
                "weather",
            ]
            shout = next(t for t in listed if t["name"] == "shout")
            assert shout["source"] == "local" and shout["description"] == "Say it louder."
            assert shout["parameters"]["required"] == ["text"]

            events = await chat(http, message="say hi loudly")
            result = next(e for e in events if isinstance(e, ToolResult))
            assert result.ok and result.content == "HI!"
            assert isinstance(events[-1], RunFinished) and events[-1].answer == "done"
    finally:
        stop(proc)


def test_a_module_beside_the_user_is_found(tmp_path: Path, mock_llm: MockLLMServer) -> None:
    """Like ``python -m`` and uvicorn: the working directory is searched."""
    (tmp_path / "weather_tools.py").write_text(WEATHER)
    proc, url = serve(
        tmp_path,
        mock_llm.base_url,
        "--tools",
        "weather_tools",
        SAGE_BUILTIN_TOOLS="execute_python,read_file",
    )
    try:
        wait_ready(url, proc)
        listed = {t["name"]: t["source"] for t in httpx2.get(f"{url}/api/v1/tools").json()}
        assert listed == {"weather": "local", "execute_python": "builtin", "read_file": "builtin"}
    finally:
        stop(proc)


def refused(proc: subprocess.Popen[bytes]) -> str:
    out, err = proc.communicate(timeout=60)
    text = out.decode() + err.decode()
    assert proc.returncode == 1, text
    assert "Traceback" not in text
    return " ".join(text.split())  # the console wraps long lines


def test_a_module_that_fails_to_import_stops_start_up(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    folder = tmp_path / "user-code"
    folder.mkdir()
    (folder / "broken_tools.py").write_text(
        textwrap.dedent(
            """
            from sagents.tools import tool
            raise RuntimeError("the database password is not set")
            """
        )
    )
    proc, _ = serve(tmp_path, mock_llm.base_url, "--tools", "broken_tools", pythonpath=folder)
    text = refused(proc)
    assert "'broken_tools'" in text and "RuntimeError: the database password is not set" in text
    assert "broken_tools.py, line 3" in text

    proc, _ = serve(tmp_path, mock_llm.base_url, SAGE_TOOLS="no_such_module_here")
    text = refused(proc)
    assert "'no_such_module_here'" in text and "ModuleNotFoundError" in text
    assert mock_llm.requests == []


def test_two_modules_with_one_tool_name_stop_start_up(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    folder = tmp_path / "user-code"
    folder.mkdir()
    (folder / "one.py").write_text(WEATHER)
    (folder / "two.py").write_text(WEATHER)
    proc, _ = serve(
        tmp_path, mock_llm.base_url, "--tools", "one", "--tools", "two", pythonpath=folder
    )
    text = refused(proc)
    assert "module 'two'" in text and "'weather' is defined in module 'one'" in text
