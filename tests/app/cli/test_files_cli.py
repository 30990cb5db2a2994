"""``sage files``: upload, list, download and delete a session's files
against a real server."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from app.cli.main import app
from tests.app.conftest import StartServer

runner = CliRunner()


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ["SAGE_URL", "SAGE_CLIENT_API_KEY", "SAGE_API_KEYS"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_upload_list_get_rm(workdir: Path, start_server: StartServer) -> None:
    url = start_server()
    sid = httpx2.post(f"{url}/api/v1/sessions", json={}).json()["id"]
    (workdir / "sales.csv").write_text("region,amount\nnorth,3\n")
    (workdir / "notes.txt").write_text("remember the milk")
    up = runner.invoke(
        app, ["files", "upload", sid, "sales.csv", "notes.txt", "--folder", "in", "--url", url]
    )
    assert up.exit_code == 0, up.output
    assert "uploaded in/sales.csv" in up.output and "uploaded in/notes.txt" in up.output

    listed = runner.invoke(app, ["files", "list", sid, "--url", url])
    assert listed.exit_code == 0 and "in/sales.csv" in listed.output and "text/csv" in listed.output

    got = runner.invoke(app, ["files", "get", sid, "in/sales.csv", "-o", "copy.csv", "--url", url])
    assert got.exit_code == 0, got.output
    assert (workdir / "copy.csv").read_text() == "region,amount\nnorth,3\n"

    assert runner.invoke(app, ["files", "rm", sid, "in/sales.csv", "--url", url]).exit_code == 0
    missing = runner.invoke(app, ["files", "get", sid, "in/sales.csv", "--url", url])
    assert missing.exit_code == 1 and "not found" in missing.output
    assert not (workdir / "sales.csv.part").exists()
    bad = runner.invoke(app, ["files", "upload", sid, "notes.txt", "--folder", "..", "--url", url])
    assert bad.exit_code == 1 and "path" in bad.output
