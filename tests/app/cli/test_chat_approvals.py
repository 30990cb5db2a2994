"""``sage chat`` in a terminal asks about a tool call that needs approval:
an edit that does not fit the tool is refused and asked again, a fitting
edit runs the call with it; n rejects with a reason the model reads."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import httpx2

from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.approval_tools import PAY_TOOLS
from tests.app.cli.test_chat_conversation import Terminal
from tests.app.conftest import StartServer


def pay_tools(paid: list[tuple[str, int]]) -> ToolManager:
    @tool(requires_approval=True)
    def pay(to: str, amount: int) -> str:
        """Pay someone."""
        paid.append((to, amount))
        return f"paid {amount} to {to}"

    tools = ToolManager()
    tools.add(pay)
    return tools


def terminal(url: str, tmp_path: Path, message: str) -> Terminal:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env |= {"SAGE_URL": url, "SAGE_DATA_DIR": str(tmp_path / "cli"), "COLUMNS": "200"}
    args = [sys.executable, "-m", "app", "chat", "--no-deep", "--no-multi", message]
    return Terminal(args, env, tmp_path)


def pay_turns(answer: str) -> list[Turn]:
    call = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_t")
    return [Turn(tool_calls=[call]), Turn(text=answer)]


def test_edit_in_the_terminal(start_server: StartServer, tmp_path: Path) -> None:
    paid: list[tuple[str, int]] = []
    url = start_server(pay_turns("Paid carol."), tools=pay_tools(paid))
    term = terminal(url, tmp_path, "pay bob")
    term.expect("waits for your approval")
    term.expect("approve? [y]es / [n]o / [e]dit: ")
    term.send("e\n")
    term.expect("arguments (a JSON object): ")
    term.send('{"to": "carol", "amount": "lots"}\n')
    term.expect("HTTP 422")
    term.expect("approve? [y]es / [n]o / [e]dit: ")
    term.send("e\n")
    term.expect("arguments (a JSON object): ")
    term.send('{"to": "carol", "amount": 2}\n')
    term.expect("edited by")
    term.expect(" to carol")
    term.expect("Paid carol.")
    assert term.wait() == 0, term.seen
    assert paid == [("carol", 2)]


def test_reject_in_the_terminal(
    start_server: StartServer, mock_llm: MockLLMServer, tmp_path: Path
) -> None:
    paid: list[tuple[str, int]] = []
    url = start_server(pay_turns("Not paid."), tools=pay_tools(paid))
    term = terminal(url, tmp_path, "pay bob")
    term.expect("approve? [y]es / [n]o / [e]dit: ")
    term.send("maybe\n")
    term.expect("answer y, n or e")
    term.send("n\n")
    term.expect("reason (optional): ")
    term.send("too much\n")
    term.expect("rejected by")
    term.expect("Not paid.")
    assert term.wait() == 0, term.seen
    assert paid == []
    sessions = httpx2.get(f"{url}/api/v1/sessions").json()["items"]
    messages = httpx2.get(f"{url}/api/v1/sessions/{sessions[0]['id']}/messages").json()
    assert "too much" in messages[2]["content"] and messages[2]["role"] == "tool"


def test_local_chat_asks_too(mock_llm: MockLLMServer, tmp_path: Path) -> None:
    """``sage chat --local``: the run is in the command's own process, and so
    is the decision (no server)."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "pay_tools.py").write_text(textwrap.dedent(PAY_TOOLS))
    mock_llm.set_script(pay_turns("Paid locally."))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env |= {
        "SAGE_DATA_DIR": str(tmp_path / "cli-data"),
        "SAGE_LLM_BASE_URL": mock_llm.base_url,
        "SAGE_LLM_MODEL": "mock",
        "SAGE_LLM_API_KEY": "k",
        "SAGE_MEMORY_ENABLED": "false",
        "SAGE_MEMORY_EXTRACT": "false",
        "SAGE_MCP_SETTINGS_PATH": "",
        "SAGE_BUILTIN_TOOLS": "",
        "SAGE_SKILLS_BUNDLED_DIR": str(tmp_path / "no-skills"),
        "SAGE_TOOLS": "pay_tools",
        "PAY_LOG": str(tmp_path / "paid.txt"),
        "PYTHONPATH": os.pathsep.join([str(folder), str(Path(__file__).resolve().parents[3])]),
        "COLUMNS": "200",
    }
    args = [sys.executable, "-m", "app", "chat", "--local", "--no-deep", "--no-multi", "pay bob"]
    term = Terminal(args, env, tmp_path)
    term.expect("approve? [y]es / [n]o / [e]dit: ", timeout_s=60)
    term.send("y\n")
    term.expect("approved by")
    term.expect("Paid locally.")
    assert term.wait() == 0, term.seen
    assert (tmp_path / "paid.txt").read_text() == "bob 5\n"
