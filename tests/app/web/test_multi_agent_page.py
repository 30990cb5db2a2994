"""A multi-agent run in the browser: the task board with its status changes,
each agent's step, and follow-up suggestions as chips that send a message."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from sagents.testing import ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer
from tests.app.web.conftest import open_app, send, shot

SLOW = {"token_delay_s": 0.05}
"""Each executor's text takes a moment, so the board is seen mid-run."""


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def step(executor: list[Turn], task_id: str, result: str, all_done: bool = False) -> list[Turn]:
    return [
        Turn(role="planning", text=f"Plan for task {task_id}."),
        *executor,
        Turn(role="observation", text="Looks right."),
        Turn(
            role="judge",
            json={
                "tasks": [{"task_id": task_id, "status": "done", "result": result}],
                "all_done": all_done,
            },
        ),
        Turn(role="stage_summary", text=f"Task {task_id} done."),
    ]


SCRIPT = [
    Turn(
        role="decompose",
        json={
            "tasks": [
                {"id": "1", "title": "Count the words"},
                {"id": "2", "title": "Report the count", "depends_on": ["1"]},
            ]
        },
    ),
    *step(
        [
            Turn(
                role="executor",
                tool_calls=[ScriptedToolCall(name="word_count", arguments={"text": "a b c"})],
            ),
            Turn(role="executor", text="There are 3 words in the text.", faults=SLOW),
        ],
        "1",
        "3 words",
    ),
    *step(
        [Turn(role="executor", text="Report: the text has 3 words.", faults=SLOW)],
        "2",
        "reported",
        all_done=True,
    ),
    Turn(role="summary", text="The text has **3** words."),
    Turn(role="suggest", json={"questions": ["Count letters?", "Longest word?"]}),
    Turn(role="simple", text="It has 3 letters."),
]


def test_multi_agent_task_board(page: Page, start_server: StartServer) -> None:
    tools = ToolManager()
    tools.add(word_count)
    url = start_server(SCRIPT, tools=tools)
    open_app(page, url)
    send(page, "How many words in 'a b c'?", multi="on", suggest=True)

    board = page.locator(".turn .task-board")
    expect(board.locator(".task-title")).to_have_text(["Count the words", "Report the count"])
    # Live status changes: task 1 runs while task 2 waits for it.
    expect(board.locator(".task[data-status=running] .task-title")).to_have_text("Count the words")
    expect(board.locator(".task").nth(1)).to_have_attribute("data-status", "pending")
    shot(page, "test_multi_agent_task_board-running")

    turn = page.locator(".turn").first
    expect(turn).to_have_class(re.compile(r"\bfinished\b"))
    expect(board.locator(".task .pill")).to_have_text(["done", "done"])
    expect(board.locator(".task-result")).to_have_text(["3 words", "reported"])
    expect(turn.locator(".answer strong")).to_have_text("3")
    steps = turn.locator(".steps")
    steps.locator("> summary").click()
    expect(steps).to_contain_text("Route: multi-agent (as requested)")
    for agent in ["decompose", "planning", "executor", "judge", "summary"]:
        expect(steps.locator(f".step.agent[data-agent={agent}]").first).to_contain_text("done")
    expect(steps.locator(".step.tool .tool-name")).to_have_text("word_count")
    expect(steps.locator(".step.task-log").first).to_have_text("▣ Task “Count the words” created")
    expect(steps.locator(".step.task-log", has_text="Report the count” → done")).to_have_count(1)

    chips = turn.locator(".chips .chip")
    expect(chips).to_have_text(["Count letters?", "Longest word?"])
    page.select_option("#opt-multi", "off")
    page.set_checked("#opt-suggest", False)
    chips.first.click()
    expect(page.locator(".turn .bubble.user").nth(1)).to_have_text("Count letters?")
    expect(page.locator(".turn").nth(1).locator(".answer")).to_have_text("It has 3 letters.")
