"""A run's first write (``begin_run``) overlaps its first LLM call, and
nothing the LLM said is seen before that write committed (run_commit.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sagents.events import EventBase, RunFailed
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.store.records import RunStatus
from sagents.testing import ScriptedLLM, Turn
from tests.conftest import RuntimeFactory


def simple(message: str) -> RunRequest:
    return RunRequest(message=message, deep_thinking=False, multi_agent=False)


async def test_the_llm_is_asked_while_the_run_commits_and_answers_after(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    llm = ScriptedLLM([Turn(text="one two three")])
    rt = await make_runtime(llm)
    # Another connection holds the database's write lock: the run's first
    # write waits for it (busy_timeout) as it would for a slow commit.
    side = sqlite3.connect(tmp_path / "sage.db", isolation_level=None)
    side.execute("BEGIN IMMEDIATE")
    seen: list[EventBase] = []
    info = await SAgent(rt).start(simple("hi"), "u1")

    async def read() -> None:
        async for event in rt.runs.subscribe(info.run_id):
            seen.append(event)

    reader = asyncio.create_task(read())
    for _ in range(200):
        if llm.requests_for("simple"):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert llm.requests_for("simple"), "the LLM call waited for the commit"
    assert not [e for e in seen if e.type.startswith(("message.", "run.finished"))]
    side.execute("COMMIT")
    side.close()
    await reader
    assert seen[-1].type == "run.finished"
    run = await rt.store.get_run(info.session_id, info.run_id)
    assert run is not None and run.status is RunStatus.FINISHED
    messages = await rt.store.list_messages(info.session_id)
    assert [m.role for m in messages] == ["user", "assistant"]


async def test_a_failed_first_write_fails_the_run_before_any_answer(
    make_runtime: RuntimeFactory,
) -> None:
    llm = ScriptedLLM([Turn(text="one two three")])
    rt = await make_runtime(llm)
    agent = SAgent(rt)
    first = [e async for e in agent.run_stream(simple("hi"), "u1")]
    session_id = first[0].session_id
    # The session is deleted between the request's check and the run's
    # first write: the run row's foreign key refuses it.
    llm.set_script([Turn(text="never seen")])
    info = await agent.start(
        RunRequest(message="again", session_id=session_id, deep_thinking=False, multi_agent=False),
        "u1",
    )
    assert await rt.store.delete_session("u1", session_id)
    events = [e async for e in rt.runs.subscribe(info.run_id)]
    assert isinstance(events[-1], RunFailed)
    assert not [e for e in events if e.type.startswith("message.")]
