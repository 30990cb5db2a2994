"""Progressive disclosure: level 1 in the prompt, body via load_skill, files via level 3."""

from __future__ import annotations

from sagents.context.tokens import EstimateCounter
from sagents.settings import Settings
from sagents.skills import SkillManager, level1_prompt, rank_skills, skill_selection_schema
from sagents.skills.selection import SkillSelection
from tests.skills.conftest import tool_proxy, write_skill

SECRET_BODY = "BODY-MARKER: follow these steps exactly"


async def test_level1_holds_only_names_and_descriptions(
    manager: SkillManager, skill_settings: Settings
) -> None:
    folder = write_skill(
        manager.installation_dir, "pdf-tidy", "Tidy PDF files.", SECRET_BODY, {"go.py": "print(1)"}
    )
    (folder / "references").mkdir()
    (folder / "references" / "notes.md").write_text("FILE-MARKER")
    view = await manager.for_user("alice")
    text = level1_prompt(view, "tidy my pdf", 2000)
    assert "- pdf-tidy: Tidy PDF files." in text
    assert "- unit-convert:" in text  # a bundled one
    assert "BODY-MARKER" not in text and "FILE-MARKER" not in text
    assert "go.py" not in text

    tools = await tool_proxy(manager, "alice", "ses_disclose")
    loaded = await tools.call("load_skill", {"name": "pdf-tidy"}, timeout_s=10)
    assert loaded.ok and SECRET_BODY in loaded.content
    assert "FILE-MARKER" not in loaded.content and "references/notes.md" in loaded.content
    read = await tools.call(
        "read_skill_file", {"name": "pdf-tidy", "path": "references/notes.md"}, timeout_s=10
    )
    assert read.ok and read.content == "FILE-MARKER"


async def test_level1_names_every_skill_and_describes_the_relevant_ones(
    manager: SkillManager,
) -> None:
    for index in range(30):
        write_skill(
            manager.installation_dir, f"filler-{index}", f"Generic helper number {index}.", "b"
        )
    write_skill(manager.installation_dir, "tide-tables", "Predict ocean tide heights.", "b")
    view = await manager.for_user("bob")
    text = level1_prompt(view, "when is high tide in the ocean tomorrow?", 300)
    assert "- tide-tables: Predict ocean tide heights." in text
    assert "not shown" not in text
    assert EstimateCounter().count(text) <= 300
    for name in view.names:  # every name, whatever the budget
        assert name in text, name
    described = [line for line in text.splitlines() if line.startswith("- ")]
    assert 1 <= len(described) < len(view)
    assert described[0].startswith("- tide-tables:")  # the most relevant first
    assert rank_skills(list(view), "ocean tide")[0].name == "tide-tables"
    # a budget too small for any description still lists every name
    tiny = level1_prompt(view, "tide", 1)
    assert all(name in tiny for name in view.names) and "- " not in tiny


async def test_fourteen_long_skills_fit_the_default_budget_by_name(
    manager: SkillManager, skill_settings: Settings
) -> None:
    topics = [
        "invoices", "calendars", "spreadsheets", "diagrams", "translations", "recipes",
        "playlists", "contracts", "timesheets", "flashcards", "budgets", "itineraries",
        "resumes", "newsletters",
    ]  # fmt: skip
    for topic in topics:
        description = f"Work with {topic}, " + " ".join(f"{topic}-detail-{i}" for i in range(60))
        write_skill(manager.user_dir("gina"), f"{topic}-helper", description[:1000], "b")
    view = await manager.for_user("gina")
    assert len(view) == 14 + 3  # and the bundled three
    text = level1_prompt(view, "plan my itineraries for june", skill_settings.skills_prompt_tokens)
    for name in view.names:
        assert name in text, name
    assert "- itineraries-helper: Work with itineraries," in text


async def test_read_skill_file_refuses_traversal(manager: SkillManager) -> None:
    write_skill(manager.installation_dir, "safe-one", "d", "b", {"s.py": "print(1)"})
    tools = await tool_proxy(manager, "carol", "ses_trav")
    for path in ("../../sage.db", "/etc/passwd", "scripts/../../safe-one/SKILL.md", "scripts"):
        outcome = await tools.call(
            "read_skill_file", {"name": "safe-one", "path": path}, timeout_s=10
        )
        assert not outcome.ok and "has no file" in outcome.content, path
    missing = await tools.call("load_skill", {"name": "nope"}, timeout_s=10)
    assert not missing.ok and "available skills" in missing.content


async def test_user_skill_shadows_bundled_for_that_user_only(manager: SkillManager) -> None:
    write_skill(manager.user_dir("dave"), "unit-convert", "Dave's own converter.", "mine")
    dave = await manager.for_user("dave")
    erin = await manager.for_user("erin")
    dave_skill, erin_skill = dave.get("unit-convert"), erin.get("unit-convert")
    assert dave_skill is not None and dave_skill.origin == "user"
    assert erin_skill is not None and erin_skill.origin == "bundled"


async def test_selection_schema_names_the_visible_skills(manager: SkillManager) -> None:
    view = await manager.for_user("frank")
    schema = skill_selection_schema(view)
    assert schema["properties"]["skill"]["anyOf"][0]["enum"] == view.names
    picked = SkillSelection.model_validate({"use_skill": True, "skill": "csv-summary"})
    assert picked.chosen(view) == "csv-summary"
    invented = SkillSelection(use_skill=True, skill="made-up")
    assert invented.chosen(view) is None
