"""End to end over HTTP: the flow's SkillExecutorAgent picks a bundled skill,
the agent runs the skill's script in the sandbox, and the script's real
output reaches the final answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
from typer.testing import CliRunner

from app.cli.main import app as cli
from sagents.events import RunFinished, SkillSelected, ToolResult
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from tests.app.conftest import StartServer, chat
from tests.conftest import BUNDLED_SKILLS

CONVERT = ScriptedToolCall(
    name="run_skill_script",
    arguments={"name": "unit-convert", "script": "convert.py", "args": ["5", "mi", "km"]},
)


def system_texts(request: dict[str, object]) -> str:
    messages = request["messages"]
    assert isinstance(messages, list)
    return "\n".join(m.get("content") or "" for m in messages if m["role"] == "system")


async def test_skill_selected_loaded_and_script_run(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(
        [
            Turn(
                role="skill_select",
                json={"use_skill": True, "skill": "unit-convert", "reason": "units"},
            ),
            Turn(role="simple", tool_calls=[CONVERT]),
            Turn(role="simple", text="5 mi = 8.04672 km"),
        ],
        skills_bundled_dir=BUNDLED_SKILLS,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events = await chat(http, message="How many km is 5 miles?")
    selected = [e for e in events if isinstance(e, SkillSelected)]
    assert [(s.skill, s.level) for s in selected] == [("unit-convert", 2)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [r.tool for r in results] == ["run_skill_script"] and results[0].ok
    assert "8.04672 km" in results[0].content  # the script's real output, via level 3
    final = events[-1]
    assert isinstance(final, RunFinished) and "8.04672 km" in final.answer

    selector, first_answer = mock_llm.requests[0], mock_llm.requests[1]
    # Level 1 only while choosing: names and descriptions, not the body.
    assert "unit-convert" in system_texts(selector)
    assert "# Unit conversion" not in system_texts(selector)
    # Level 2 after selection: the body is in the answering agent's prompt.
    assert "# Unit conversion" in system_texts(first_answer)
    assert {t["function"]["name"] for t in first_answer["tools"]} >= {
        "load_skill",
        "read_skill_file",
        "run_skill_script",
    }
    assert "8.04672 km" in mock_llm.requests[-1]["messages"][-1]["content"]


async def test_no_skill_fits_but_the_model_can_still_load_one(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(
        [
            Turn(role="skill_select", json={"use_skill": False, "reason": "no match"}),
            Turn(
                role="simple",
                tool_calls=[
                    ScriptedToolCall(name="load_skill", arguments={"name": "unit-convert"})
                ],
            ),
            Turn(role="simple", tool_calls=[CONVERT]),
            Turn(role="simple", text="It is 8.04672 km."),
        ],
        skills_bundled_dir=BUNDLED_SKILLS,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events = await chat(http, message="5 miles?")
    assert not any(isinstance(e, SkillSelected) for e in events)
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [r.tool for r in results] == ["load_skill", "run_skill_script"]
    assert "# Unit conversion" in results[0].content  # the body, only via load_skill
    for request in mock_llm.requests:
        assert "# Unit conversion" not in system_texts(request)
    assert isinstance(events[-1], RunFinished)


async def test_unknown_available_skills_is_422(start_server: StartServer) -> None:
    url = start_server(skills_bundled_dir=BUNDLED_SKILLS)
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.post(
            "/api/v1/chat", json={"message": "hi", "available_skills": ["unit-convert", "nope"]}
        )
    assert response.status_code == 422
    assert "nope" in response.json()["error"]["message"]


def all_texts(request: dict[str, object]) -> str:
    messages = request["messages"]
    assert isinstance(messages, list)
    return "\n".join(str(m.get("content") or "") for m in messages)


async def test_the_selector_sees_every_skill_name_and_can_pick_any(
    start_server: StartServer, mock_llm: MockLLMServer, tmp_path: Path
) -> None:
    names = [f"helper-{i:02d}" for i in range(14)]
    for name in names:
        folder = tmp_path / "data0" / "skills" / name
        folder.mkdir(parents=True)
        long = " ".join(f"{name}-topic-{j}" for j in range(40))
        (folder / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: Handles {long}.\n---\n# {name} steps\n"
        )
    url = start_server(
        [
            Turn(role="skill_select", json={"use_skill": True, "skill": "helper-13"}),
            Turn(role="simple", text="done"),
        ],
        skills_bundled_dir=tmp_path / "none",
        skills_prompt_tokens=600,  # room for two descriptions, not fourteen
    )
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events = await chat(http, message="Something about helper-02-topic-3, please.")
    selector, answering = mock_llm.requests[0], mock_llm.requests[1]
    for name in names:
        assert name in all_texts(selector), name
        assert name in system_texts(answering), name
    assert "not shown" not in all_texts(selector)
    assert "- helper-02: Handles" in all_texts(selector)  # the relevant one is described
    assert [(e.skill, e.level) for e in events if isinstance(e, SkillSelected)] == [
        ("helper-13", 2)
    ]
    assert "# helper-13 steps" in system_texts(answering)


async def test_a_skill_whose_requirements_failed_is_listed_but_never_offered(
    start_server: StartServer, mock_llm: MockLLMServer, tmp_path: Path
) -> None:
    bundled = tmp_path / "bundled"
    (bundled / "needs-missing" / "scripts").mkdir(parents=True)
    (bundled / "needs-missing" / "SKILL.md").write_text(
        "---\nname: needs-missing\ndescription: Needs a package no index has.\n---\nBody.\n"
    )
    (bundled / "needs-missing" / "requirements.txt").write_text("sage-absent-everywhere\n")
    (bundled / "plain").mkdir()
    (bundled / "plain" / "SKILL.md").write_text(
        "---\nname: plain\ndescription: Needs nothing.\n---\nBody.\n"
    )
    url = start_server(
        [
            Turn(role="skill_select", json={"use_skill": False, "skill": None, "reason": "no"}),
            Turn(role="simple", text="hello"),
        ],
        skills_bundled_dir=bundled,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        async with asyncio.timeout(60):
            while True:
                items = {i["name"]: i for i in (await http.get("/api/v1/skills")).json()["items"]}
                reason = items["needs-missing"]["unusable_reason"] or ""
                if reason != "its requirements are being installed":
                    break
                await asyncio.sleep(0.2)
        assert items["plain"]["usable"] is True
        assert items["needs-missing"]["usable"] is False
        assert "could not be installed" in reason and "sage-absent-everywhere" in reason
        detail = (await http.get("/api/v1/skills/needs-missing")).json()
        assert detail["environment"]["status"] == "failed"

        listed = await asyncio.to_thread(
            CliRunner(env={"COLUMNS": "250"}).invoke, cli, ["skills", "list", "--url", url]
        )
        assert listed.exit_code == 0 and "no: its requirements could not be installed" in (
            " ".join(listed.output.split())
        )

        events = await chat(http, message="hi")
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "hello"
    selector = mock_llm.requests[0]
    assert "plain" in system_texts(selector)
    assert "needs-missing" not in system_texts(selector)
