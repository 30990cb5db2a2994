"""MemoryExtractor with ScriptedLLM, real SQLite and real ChromaDB: it learns
preferences, keeps no duplicates, replaces contradicted memories, never
delays an answer, and keeps pending jobs across a restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sagents.events import EventBase, MemoryRecalled, RunFinished
from sagents.memory.extractor import MemoryExtractor
from sagents.request import RunRequest
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.store.records import MessageRecord, SessionRecord, new_id
from sagents.testing import Faults, ScriptedLLM, Turn
from tests.conftest import RuntimeFactory, make_settings


def simple(**fields: object) -> RunRequest:
    return RunRequest.model_validate({"deep_thinking": False, "multi_agent": False, **fields})


def memories(*items: tuple[str, str]) -> Turn:
    return Turn(role="memory", json={"memories": [{"text": t, "kind": k} for t, k in items]})


async def run(rt: Runtime, message: str, session_id: str | None = None) -> list[EventBase]:
    request = simple(message=message, session_id=session_id)
    return [e async for e in SAgent(rt).run_stream(request, "u1")]


async def texts(rt: Runtime, user: str = "u1") -> list[str]:
    assert rt.memory is not None
    return [m.text for m in await rt.memory.list(user)]


async def test_learns_dedupes_replaces_and_recalls(
    tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    llm = ScriptedLLM(
        [
            Turn(role="simple", text="D'accord."),
            memories(
                ("Prefers answers in French", "preference"),
                ("prefers answers in French.", "preference"),  # same batch, same note
            ),
        ]
    )
    rt = await make_runtime(llm, settings=make_settings(tmp_path, memory_extract=True))
    assert rt.memory_extractor is not None and rt.memory is not None
    events = await run(rt, "Please always answer me in French.")
    sid = events[0].session_id
    await rt.memory_extractor.wait_idle()
    assert await texts(rt) == ["Prefers answers in French"]
    assert "Please always answer me in French." in str(llm.requests_for("memory")[0].messages)

    # The same fact again: an exact match, skipped without asking the LLM again.
    llm.set_script(
        [Turn(role="simple", text="Oui."), memories(("Prefers answers in French", "preference"))]
    )
    await run(rt, "Merci!", sid)
    await rt.memory_extractor.wait_idle()
    assert await texts(rt) == ["Prefers answers in French"]
    assert llm.remaining == 0

    # A paraphrase is near: the LLM check calls it a duplicate.
    llm.set_script(
        [
            Turn(role="simple", text="Oui."),
            memories(("The user wants replies in French", "preference")),
            Turn(role="memory", json={"verdicts": [{"candidate": 0, "action": "duplicate"}]}),
        ]
    )
    await run(rt, "En français, s'il te plaît.", sid)
    await rt.memory_extractor.wait_idle()
    assert await texts(rt) == ["Prefers answers in French"]
    assert llm.remaining == 0  # the near-duplicate check was asked

    # A contradiction replaces the old preference.
    [old] = await rt.memory.list("u1")
    check = {"verdicts": [{"candidate": 0, "action": "replace", "replaces": [old.id]}]}
    llm.set_script(
        [
            Turn(role="simple", text="Sure."),
            memories(("Prefers answers in English", "preference")),
            Turn(role="memory", json=check),
        ]
    )
    await run(rt, "Actually, answer in English from now on.", sid)
    await rt.memory_extractor.wait_idle()
    assert await texts(rt) == ["Prefers answers in English"]
    shown = str(llm.requests_for("memory")[-1].messages)
    assert old.id in shown and "Prefers answers in English" in shown

    # A new session's context recalls it.
    llm.set_script([Turn(role="simple", text="Hello!"), memories()])
    fresh = await run(rt, "Hi, what language do I like my answers in?")
    assert fresh[0].session_id != sid
    recalled = [e for e in fresh if isinstance(e, MemoryRecalled)]
    assert recalled and recalled[0].count == 1
    system = llm.requests_for("simple")[-1].messages[0]["content"]
    assert "Prefers answers in English" in system and "<user_memory>" in system
    await rt.memory_extractor.wait_idle()


async def test_extraction_never_delays_the_answer(
    tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    slow = Faults(first_token_delay_s=1.5)
    llm = ScriptedLLM(
        [
            Turn(role="simple", text="Noted."),
            Turn(
                role="memory",
                json={"memories": [{"text": "Is vegan", "kind": "fact"}]},
                faults=slow,
            ),
        ]
    )
    rt = await make_runtime(llm, settings=make_settings(tmp_path, memory_extract=True))
    assert rt.memory_extractor is not None
    started = time.monotonic()
    async for event in SAgent(rt).run_stream(simple(message="I am vegan."), "u1"):
        if isinstance(event, RunFinished):
            finished_after = time.monotonic() - started
            # The extractor's LLM call is still waiting for its first token.
            assert rt.memory_extractor.completed == 0
    assert finished_after < 1.5
    await rt.memory_extractor.wait_idle()
    assert rt.memory_extractor.completed == 1
    assert await texts(rt) == ["Is vegan"]


async def test_only_finished_runs_are_extracted_and_failures_stay_quiet(
    tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    llm = ScriptedLLM([Turn(role="simple", faults=Faults(http_status=400))])
    rt = await make_runtime(llm, settings=make_settings(tmp_path, memory_extract=True))
    assert rt.memory_extractor is not None
    failed = await run(rt, "hello")
    assert failed[-1].type == "run.failed"
    await rt.memory_extractor.wait_idle()
    assert llm.requests_for("memory") == []

    # Invalid JSON (also after the repair): logged, counted, never in the run.
    llm.set_script(
        [
            Turn(role="simple", text="ok"),
            Turn(role="memory", text="no json here"),
            Turn(role="memory", text="still none"),
        ]
    )
    ok = await run(rt, "hello again")
    assert ok[-1].type == "run.finished"
    await rt.memory_extractor.wait_idle()
    assert rt.memory_extractor.failed == 1
    assert await texts(rt) == []


async def test_pending_jobs_are_kept_for_the_next_start(
    tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    settings = make_settings(tmp_path)
    rt = await make_runtime(ScriptedLLM([]), settings=settings)
    assert rt.memory is not None
    session = SessionRecord(id=new_id("ses"), user_id="u1")
    await rt.store.create_session(session)
    await rt.store.add_messages(
        [MessageRecord(id=new_id("msg"), session_id=session.id, role="user", content="I'm Dana.")]
    )
    pending = tmp_path / "jobs.json"
    hanging = ScriptedLLM([Turn(role="memory", faults=Faults(hang=True))])
    first = MemoryExtractor(rt.memory, hanging, rt.store, pending_path=pending, drain_timeout_s=0.2)
    await first.start()
    assert first.schedule("u1", session.id, "run_1")
    assert first.schedule("u1", session.id, "run_2")
    await first.aclose()  # the first job hangs in the LLM; both are kept
    assert pending.exists()

    answer = memories(("Is called Dana", "persona"))
    second = MemoryExtractor(
        rt.memory, ScriptedLLM([answer, memories()]), rt.store, pending_path=pending
    )
    await second.start()
    await second.wait_idle()
    await second.aclose()
    assert not pending.exists()
    assert second.completed == 2
    assert await texts(rt) == ["Is called Dana"]


async def test_a_replacement_removes_only_memories_shown_for_that_candidate(
    tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    """The reconciling answer is model output: whatever ids it names, only the
    stored neighbours it was shown for that candidate can be replaced, never
    another of the user's memories, another candidate's neighbour, another
    user's memory or an id it made up."""
    llm = ScriptedLLM([])
    rt = await make_runtime(llm, settings=make_settings(tmp_path, memory_extract=True))
    assert rt.memory_extractor is not None and rt.memory is not None
    french = await rt.memory.remember("u1", "Prefers answers in French", "preference")
    nurse = await rt.memory.remember("u1", "Works as a nurse in a hospital", "persona")
    paris = await rt.memory.remember("u1", "Lives in Paris", "fact")
    theirs = await rt.memory.remember("u2", "Prefers answers in Spanish", "preference")
    grab = [french.id, nurse.id, paris.id, theirs.id, "mem_made_up"]
    llm.set_script(
        [
            Turn(role="simple", text="Sure."),
            memories(("Prefers answers in English", "preference"), ("Lives in Berlin", "fact")),
            Turn(
                role="memory",
                json={
                    "verdicts": [
                        {"candidate": 0, "action": "replace", "replaces": grab},
                        {"candidate": 1, "action": "add"},
                    ]
                },
            ),
        ]
    )
    await run(rt, "Answer in English please; I moved to Berlin.")
    await rt.memory_extractor.wait_idle()
    assert llm.remaining == 0
    shown = json.loads(llm.requests_for("memory")[-1].messages[-1]["content"])
    assert [m["id"] for m in shown[0]["similar_stored"]] == [french.id]
    assert [m["id"] for m in shown[1]["similar_stored"]] == [paris.id]

    assert sorted(await texts(rt)) == [
        "Lives in Berlin",
        "Lives in Paris",  # shown, but for the other candidate, which only adds
        "Prefers answers in English",
        "Works as a nurse in a hospital",  # never shown
    ]
    assert await texts(rt, "u2") == ["Prefers answers in Spanish"]
