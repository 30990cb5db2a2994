"""SKILL.md parsing and validation: every problem, with file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def write_front(root: Path, folder: str, front: str, body: str = "# Steps\nDo it.\n") -> Path:
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / "SKILL.md").write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return path


def errors(path: Path) -> list[tuple[str | None, str]]:
    return [(p.field, p.message) for p in validate_skill_dir(path) if p.is_error]


def warnings(path: Path) -> list[str | None]:
    return [p.field for p in validate_skill_dir(path) if not p.is_error]


def test_every_specification_field(tmp_path: Path) -> None:
    folder = write_front(
        tmp_path,
        "pdf-processing",
        "name: pdf-processing\n"
        "description: Extract PDF text, fill forms, merge files. Use when handling PDFs.\n"
        "license: Proprietary. LICENSE.txt has complete terms\n"
        "compatibility: Requires git, docker, jq, and access to the internet\n"
        'metadata:\n  author: example-org\n  version: "1.0"\n'
        "allowed-tools: Bash(git:*) Bash(jq:*) Read\n",
    )
    assert validate_skill_dir(folder) == []
    skill = load_skill_dir(folder, "user")
    assert skill.license == "Proprietary. LICENSE.txt has complete terms"
    assert skill.compatibility == "Requires git, docker, jq, and access to the internet"
    assert skill.metadata == {"author": "example-org", "version": "1.0"}
    assert skill.allowed_tools == ("Bash(git:*)", "Bash(jq:*)", "Read")
    assert skill.unknown_fields == {} and skill.warnings == ()
    listed = write_front(
        tmp_path,
        "listed",
        "name: listed\ndescription: d\nallowed-tools:\n  - Bash(git:*)\n  - Read\n",
    )
    assert load_skill_dir(listed, "user").allowed_tools == ("Bash(git:*)", "Read")


def test_the_minimal_skill_of_the_specification_is_valid(tmp_path: Path) -> None:
    # front matter only: the body is optional (a warning, not an error)
    folder = write_front(tmp_path, "skill-name", "name: skill-name\ndescription: A d.\n", "")
    assert errors(folder) == [] and warnings(folder) == ["body"]
    assert load_skill_dir(folder, "user").name == "skill-name"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("a", True),
        ("pdf-processing", True),
        ("v2-tools-3", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("PDF-Processing", False),
        ("-pdf", False),
        ("pdf-", False),
        ("pdf--processing", False),
        ("pdf_processing", False),
        ("pdf.processing", False),
        ("données", False),  # only a-z, so no look-alike letters
    ],
)
def test_name_rules(tmp_path: Path, name: str, ok: bool) -> None:
    folder = write_front(tmp_path, name, f"name: {name}\ndescription: d\n")
    assert (errors(folder) == []) is ok, errors(folder)


def test_name_must_match_its_folder(tmp_path: Path) -> None:
    folder = write_front(tmp_path, "folder-name", "name: other-name\ndescription: d\n")
    assert errors(folder) == [("name", "'other-name' does not match the folder name 'folder-name'")]


@pytest.mark.parametrize(
    ("front", "field", "ok"),
    [
        ("description: " + "d" * 1024, "description", True),
        ("description: " + "d" * 1025, "description", False),
        ("description: '   '", "description", False),
        ("description: [a]", "description", False),
        ("description: d\ncompatibility: " + "c" * 500, "compatibility", True),
        ("description: d\ncompatibility: " + "c" * 501, "compatibility", False),
        ("description: d\ncompatibility: ''", "compatibility", False),
        ("description: d\ncompatibility: [git]", "compatibility", False),
        ("description: d\nlicense: 3", "license", False),
        ("description: d\nlicense: ''", "license", False),
        ("description: d\nallowed-tools: [Read, 3]", "allowed-tools", False),
        ("description: d\nallowed-tools: {Read: yes}", "allowed-tools", False),
        ("description: d\nmetadata: [a, b]", "metadata", False),
        ("description: d\nmetadata: text", "metadata", False),
    ],
)
def test_field_limits(tmp_path: Path, front: str, field: str, ok: bool) -> None:
    folder = write_front(tmp_path, "edge", f"name: edge\n{front}\n")
    found = [f for f, _ in errors(folder)]
    assert found == ([] if ok else [field])


def test_unknown_fields_and_nested_metadata_are_kept_with_warnings(tmp_path: Path) -> None:
    folder = write_front(
        tmp_path,
        "other-client",
        "name: other-client\ndescription: d\nversion: 2\nwhen_to_use: often\n"
        "triggers: [pdf, forms]\nmetadata:\n  owner: me\n  tags: [a, b]\n",
    )
    assert errors(folder) == []
    assert warnings(folder) == ["metadata.tags", "triggers", "version", "when_to_use"]
    skill = load_skill_dir(folder, "user")
    assert skill.unknown_fields == {
        "version": 2,
        "when_to_use": "often",
        "triggers": ["pdf", "forms"],
    }
    assert skill.metadata == {"owner": "me", "tags": ["a", "b"]}
    assert [w.field for w in skill.warnings] == warnings(folder)


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "windows-made"
    folder.mkdir()
    (folder / "SKILL.md").write_bytes(
        "\ufeff---\r\nname: windows-made\r\ndescription: d\r\n---\r\nbody\r\n".encode()
    )
    assert validate_skill_dir(folder) == []


def test_front_matter_bombs_in_a_folder_are_problems(tmp_path: Path) -> None:
    folder = write_front(tmp_path, "bomb", "name: bomb\ndescription: d\nx: " + "[" * 20_000 + "\n")
    ((field, message),) = errors(folder)
    assert field is None and "levels deep" in message
