"""SKILL.md parsing and validation: every problem, with file and field."""

from __future__ import annotations

from pathlib import Path

from sagents.skills import load_skill_dir, validate_skill_dir
from sagents.skills.manager import find_bundled_dir
from tests.conftest import make_settings
from tests.skills.conftest import write_skill


def test_valid_skill_parses(tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "tidy-notes", "Tidy notes.", "# Do it\nSteps.")
    (folder / "references").mkdir()
    (folder / "references" / "guide.md").write_text("guide")
    skill = load_skill_dir(folder, origin="user")
    assert skill.name == "tidy-notes" and skill.description == "Tidy notes."
    assert skill.body.startswith("# Do it")
    assert skill.files() == ["SKILL.md", "references/guide.md"]


def test_every_problem_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "good-name"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: Bad_Name\ndescription: " + "x" * 1100 + "\nlicense: [1]\ncolour: red\n---\n"
    )
    (folder / "scripts").write_text("not a dir")
    problems = validate_skill_dir(folder)
    found = {(p.file, p.field) for p in problems}
    assert ("SKILL.md", "name") in found  # pattern and folder mismatch
    assert sum(p.field == "name" for p in problems) == 2
    assert ("SKILL.md", "description") in found
    assert ("SKILL.md", "license") in found
    assert ("SKILL.md", "colour") in found
    assert ("SKILL.md", "body") in found
    assert ("scripts", None) in found


def test_missing_front_matter_and_long_name(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "SKILL.md").write_text("# just markdown\n")
    assert "front matter" in str(validate_skill_dir(folder)[0])
    long_name = "a" * 65
    write_skill(tmp_path, long_name, "d", "body")
    messages = [p.message for p in validate_skill_dir(tmp_path / long_name)]
    assert any("at most 64" in m for m in messages)


def test_symlinks_are_refused(tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "linky", "d", "body")
    (folder / "scripts" / "passwd").symlink_to("/etc/passwd")
    problems = validate_skill_dir(folder)
    assert [p.file for p in problems] == ["scripts/passwd"]


def test_bundled_skills_are_valid_and_have_scripts(tmp_path: Path) -> None:
    bundled = find_bundled_dir(make_settings(tmp_path, skills_bundled_dir=None))
    assert bundled is not None
    folders = sorted(p for p in bundled.iterdir() if p.is_dir())
    assert len(folders) >= 3
    for folder in folders:
        assert validate_skill_dir(folder) == [], folder
        assert load_skill_dir(folder, "bundled").scripts(), folder
