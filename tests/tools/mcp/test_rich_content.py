"""More than text from a real MCP server (servers/rich.py over stdio): an image
result reaches the events and the model, progress becomes tool.progress
events, and the server's resources and prompts are listed and readable by
the agent through mcp_read_resource / mcp_get_prompt."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path
from typing import Any

from sagents.events import EventBase, FileCreated, ToolCalled, ToolProgress, ToolResult
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from tests.conftest import RuntimeFactory, make_settings
from tests.tools.mcp.conftest import collect, simple, stdio_entry, write_settings

RICH = Path(__file__).parent / "servers" / "rich.py"
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def rich_entry() -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(RICH)]}


async def runtime(
    make_runtime: RuntimeFactory, tmp_path: Path, turns: list[Turn], **overrides: Any
) -> tuple[Runtime, ScriptedLLM]:
    servers = overrides.pop("servers", {"rich": rich_entry()})
    path = write_settings(tmp_path / "mcp_setting.json", servers)
    settings = make_settings(
        tmp_path / "data", mcp_settings_path=path, mcp_startup_wait_s=30.0, **overrides
    )
    llm = ScriptedLLM(turns)
    return await make_runtime(llm, settings=settings), llm


def call(tool: str, **arguments: Any) -> ScriptedToolCall:
    return ScriptedToolCall(name=tool, arguments=arguments)


def results(events: list[EventBase]) -> dict[str, ToolResult]:
    called = {e.call_id: e.tool for e in events if isinstance(e, ToolCalled)}
    return {called[e.call_id]: e for e in events if isinstance(e, ToolResult)}


def image_parts(messages: list[dict[str, Any]]) -> list[str]:
    return [
        part["image_url"]["url"]
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


async def test_an_image_result_reaches_an_image_model_as_an_image_part(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    turns = [Turn(tool_calls=[call("picture")]), Turn(text="a single pixel")]
    rt, llm = await runtime(make_runtime, tmp_path, turns, llm_image_models=["scripted-"])
    events = await collect(SAgent(rt), simple("show me"))
    result = results(events)["picture"]
    assert result.ok and result.content == f"[image: image/png, {len(PIXEL)} bytes]"

    second = llm.requests[1].messages
    tool_index = next(i for i, m in enumerate(second) if m["role"] == "tool")
    shown = second[tool_index + 1]
    assert shown["role"] == "user"
    assert "picture" in shown["content"][0]["text"]
    assert image_parts(second) == [f"data:image/png;base64,{base64.b64encode(PIXEL).decode()}"]


async def test_a_model_without_images_gets_the_description_only(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    turns = [Turn(tool_calls=[call("picture")]), Turn(text="something")]
    rt, llm = await runtime(make_runtime, tmp_path, turns)
    events = await collect(SAgent(rt), simple("show me"))
    assert results(events)["picture"].content == f"[image: image/png, {len(PIXEL)} bytes]"
    # Kept as a session file, announced before the result.
    created = [e for e in events if isinstance(e, FileCreated)]
    call_id = results(events)["picture"].call_id
    assert [(e.path, e.size, e.media_type, e.call_id) for e in created] == [
        (f"tool-media/{call_id}-1.png", len(PIXEL), "image/png", call_id)
    ]
    workspace = tmp_path / "data" / "workspaces" / events[0].session_id
    assert (workspace / created[0].path).read_bytes() == PIXEL
    second = llm.requests[1].messages
    assert image_parts(second) == []
    assert [m["role"] for m in second[-2:]] == ["assistant", "tool"]


async def test_progress_notifications_become_tool_progress_events(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    turns = [Turn(tool_calls=[call("work", steps=3), call("picture")]), Turn(text="done")]
    rt, _ = await runtime(make_runtime, tmp_path, turns)
    events = await collect(SAgent(rt), simple("work"))
    work = next(e for e in events if isinstance(e, ToolCalled) and e.tool == "work")
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert progress, "no tool.progress event"
    assert {e.call_id for e in progress} == {work.call_id}
    assert all(e.tool == "work" and e.total == 3 and e.agent for e in progress)
    assert [e.progress for e in progress] == sorted(e.progress for e in progress)
    assert (progress[-1].progress, progress[-1].message) == (3, "step 3 of 3")
    # Between the call and its result, stamped in order with the rest.
    result = results(events)["work"]
    assert events.index(work) < events.index(progress[0])
    assert events.index(progress[-1]) < events.index(result)
    assert [e.seq for e in events] == sorted(e.seq for e in events)


async def test_resources_and_prompts_are_listed_and_read_by_the_agent(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    turns = [
        Turn(
            tool_calls=[
                call("mcp_read_resource", server="rich", uri="rich://notes"),
                call("mcp_read_resource", server="rich", uri="rich://topics/rust"),
                call("mcp_get_prompt", server="rich", name="review", arguments={"code": "x=1"}),
            ]
        ),
        Turn(tool_calls=[call("mcp_read_resource", server="rich", uri="rich://logo.png")]),
        Turn(text="read"),
    ]
    rt, llm = await runtime(make_runtime, tmp_path, turns, llm_image_models=["scripted-"])
    assert rt.mcp is not None
    listed = await rt.mcp.listing("rich", "resources")
    assert {str(r.uri) for r in listed.resources} == {"rich://notes", "rich://logo.png"}
    assert [t.uri_template for t in listed.templates] == ["rich://topics/{topic}"]
    prompts = await rt.mcp.listing("rich", "prompts")
    assert [p.name for p in prompts.prompts] == ["review"]

    events = await collect(SAgent(rt), simple("what do the notes say?"))
    found = [e for e in events if isinstance(e, ToolResult)]
    assert all(e.ok for e in found), found
    contents = {e.content for e in found}
    assert "Remember: the deploy freeze starts Friday." in contents
    assert "All about rust." in contents
    prompt = (
        "(Ask for a code review in a given style.)\n\n[user] Please review this code (brief):\nx=1"
    )
    assert prompt in contents
    assert f"[image rich://logo.png: image/png, {len(PIXEL)} bytes]" in contents
    # What the model was told exists, and the binary resource as an image part.
    tools = {t["function"]["name"]: t["function"] for t in llm.requests[0].tools or []}
    assert (
        "- rich: rich://notes (notes — The team's notes.)"
        in tools["mcp_read_resource"]["description"]
    )
    assert "rich://topics/{topic} (a template" in tools["mcp_read_resource"]["description"]
    assert "- rich: review(code, style?)" in tools["mcp_get_prompt"]["description"]
    assert len(image_parts(llm.requests[2].messages)) == 1


async def test_only_the_servers_the_run_can_use(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    turns = [
        Turn(tool_calls=[call("mcp_read_resource", server="rich", uri="rich://notes")]),
        Turn(text="no"),
    ]
    servers = {"rich": rich_entry(), "demo": stdio_entry()}
    rt, _ = await runtime(make_runtime, tmp_path, turns, servers=servers)
    request = simple("notes?", available_tools=["mcp_read_resource", "add"])
    events = await collect(SAgent(rt), request)
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert not result.ok
    assert "no MCP server 'rich' is available to this run; servers: demo" in result.content


async def test_a_resource_list_change_refreshes_the_listing(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    turns = [Turn(tool_calls=[call("note", name="late", text="added later")]), Turn(text="ok")]
    rt, _ = await runtime(make_runtime, tmp_path, turns)
    await collect(SAgent(rt), simple("add a note"))
    spec = None
    async with asyncio.timeout(20):
        while spec is None or "rich://notes/late" not in spec.description:
            await asyncio.sleep(0.05)
            spec = rt.tools.get("mcp_read_resource")
    assert rt.mcp is not None
    info = rt.mcp.list()
    assert [i.name for i in info] == ["rich"]
