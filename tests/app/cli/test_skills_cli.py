"""``sage skills``: new and validate locally, install and list against a real server."""

from __future__ import annotations

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
