"""``sage skills``: new and validate locally, install and list against a real server."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from tests.app.conftest import StartServer
from tests.conftest import BUNDLED_SKILLS

runner = CliRunner()


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ["SAGE_URL", "SAGE_CLIENT_API_KEY", "SAGE_API_KEYS"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_new_then_validate(workdir: Path) -> None:
    created = runner.invoke(app, ["skills", "new", "my-skill"])
    assert created.exit_code == 0, created.output
    assert (workdir / "my-skill" / "SKILL.md").is_file()
    assert (workdir / "my-skill" / "scripts" / "main.py").is_file()
    ok = runner.invoke(app, ["skills", "validate", "my-skill"])
    assert ok.exit_code == 0 and "ok" in ok.output
    bad = runner.invoke(app, ["skills", "new", "Bad_Name"])
    assert bad.exit_code == 2


def test_validate_lists_every_problem(workdir: Path) -> None:
    folder = workdir / "broken"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: other\nextra: 1\n---\n")
    result = runner.invoke(app, ["skills", "validate", str(folder)])
    assert result.exit_code == 1
    for expected in ("SKILL.md: name", "SKILL.md: description", "SKILL.md: extra", "body"):
        assert expected in result.output, result.output


def test_install_and_list(workdir: Path, start_server: StartServer) -> None:
    url = start_server(skills_bundled_dir=BUNDLED_SKILLS)
    assert runner.invoke(app, ["skills", "new", "cli-made"]).exit_code == 0
    installed = runner.invoke(app, ["skills", "install", "cli-made", "--url", url])
    assert installed.exit_code == 0, installed.output
    assert "installed cli-made" in installed.output
    listed = runner.invoke(app, ["skills", "list", "--url", url])
    assert listed.exit_code == 0
    assert "cli-made" in listed.output and "csv-summary" in listed.output
    assert "available" in listed.output


def write(folder: Path, front: str) -> None:
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\n{front}---\n# Steps\n")


def test_validate_warnings_alone_pass_and_a_collection_is_checked_whole(workdir: Path) -> None:
    write(workdir / "fine", "name: fine\ndescription: d\ncompatibility: Needs git\nx-extra: 1\n")
    result = runner.invoke(app, ["skills", "validate", "fine"])
    assert result.exit_code == 0, result.output
    assert "warning: SKILL.md: x-extra" in result.output and "ok" in result.output
    write(workdir / "repo" / "skills" / "one", "name: one\ndescription: d\n")
    write(workdir / "repo" / "skills" / "two", "name: Two\ndescription: d\n")
    result = runner.invoke(app, ["skills", "validate", "repo"])
    assert result.exit_code == 1
    assert "ok repo/skills/one" in result.output
    assert "repo/skills/two/SKILL.md: name" in result.output


def test_install_a_folder_of_skills(workdir: Path, start_server: StartServer) -> None:
    url = start_server(skills_bundled_dir=workdir / "none")
    for name in ("first-one", "second-one"):
        write(workdir / "collection" / name, f"name: {name}\ndescription: d\n")
    (workdir / "collection" / "README.md").write_text("not a skill")
    installed = runner.invoke(app, ["skills", "install", "collection", "--url", url])
    assert installed.exit_code == 0, installed.output
    assert "installed first-one" in installed.output
    assert "installed second-one" in installed.output


def test_install_reports_refused_skills_with_exit_1(
    workdir: Path, start_server: StartServer
) -> None:
    url = start_server(skills_bundled_dir=workdir / "none")
    with zipfile.ZipFile(workdir / "mixed.zip", "w") as archive:
        archive.writestr("p/good-one/SKILL.md", "---\nname: good-one\ndescription: d\n---\nb\n")
        archive.writestr("p/bad/SKILL.md", "---\nname: bad\n---\nb\n")
    result = runner.invoke(app, ["skills", "install", "mixed.zip", "--url", url])
    assert result.exit_code == 1
    assert "installed good-one" in result.output
    assert "refused p/bad" in result.output and "description" in result.output
