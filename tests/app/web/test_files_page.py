"""The chat page shows what agents-as-tools and file-making tools do: a
sub-agent's steps nested under the call that ran it, and a file a tool made
with a button that downloads it (the key goes in a header)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from sagents.agents.agent_tool import AgentToolSpec
from sagents.testing import ScriptedToolCall, Turn
from sagents.tools import ToolManager
from tests.app.conftest import StartServer
from tests.app.web.conftest import open_app, send, shot

WRITER = AgentToolSpec(
    name="writer",
    description="Writes reports.",
    instructions="Write what you are asked into a file.",
    tools=("write_file",),
    role="writer",
)


def test_a_sub_agent_nested_under_its_call_and_a_file_to_download(
    page: Page, start_server: StartServer, tmp_path: Path
) -> None:
    tools = ToolManager()
    tools.add(WRITER.tool())
    write = {"path": "report.txt", "content": "the report"}
    url = start_server(
        [
            Turn(
                role="simple", tool_calls=[ScriptedToolCall(name="writer", arguments={"task": "r"})]
            ),
            Turn(role="writer", tool_calls=[ScriptedToolCall(name="write_file", arguments=write)]),
            Turn(role="writer", text="Written."),
            Turn(role="simple", text="The report is ready."),
        ],
        tools=tools,
        builtin_tools=["write_file"],
        api_keys={"k-alice": "alice"},
    )
    page.add_init_script("sessionStorage.setItem('sage.apiKey', 'k-alice')")
    open_app(page, url)
    send(page, "write the report")
    turn = page.locator(".turn").last
    expect(turn.locator(".answer")).to_contain_text("The report is ready.")
    expect(turn).to_have_class(re.compile(r"\bfinished\b"))  # its steps fold then
    if turn.locator("details.steps").get_attribute("open") is None:  # closed when a run ends
        turn.locator("details.steps > summary").click()
    call = turn.locator("li.step.tool[data-call-id]").filter(has_text="writer").first
    nested = call.locator(":scope > ol.sub")
    expect(nested.locator("li.step.agent").first).to_contain_text("writer")
    expect(nested.locator("li.step.tool").first).to_contain_text("write_file")
    file_row = nested.locator("li.step.file")
    expect(file_row).to_contain_text("report.txt")
    shot(page, "files_page_nested")
    with page.expect_download() as info:
        file_row.locator("button").click()
    download = info.value
    assert download.suggested_filename == "report.txt"
    assert Path(download.path()).read_text() == "the report"
