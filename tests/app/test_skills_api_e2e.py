"""Skill authoring over real HTTP: upload, list, read, delete, and hostile archives."""

from __future__ import annotations

from pathlib import Path

import httpx2

from tests.app.conftest import StartServer
from tests.conftest import BUNDLED_SKILLS
from tests.skills.archives import SKILL_MD, good, make_tar, make_zip
from tests.skills.wheels import build_wheel


def make_tgz(entries: dict[str, str], links: dict[str, str] | None = None) -> bytes:
    return make_tar(dict(entries), links=links)


async def upload(http: httpx2.AsyncClient, data: bytes, filename: str) -> httpx2.Response:
    # A multipart body is what a cross-site form can send: a non-browser
    # client says it is one (app/cross_site.py).
    return await http.post(
        "/api/v1/skills", files={"file": (filename, data)}, headers={"X-Sage-Client": "test"}
    )


def written(data_dir: Path) -> list[Path]:
    """Every file under the user-skill and staging folders."""
    found: list[Path] = []
    for sub in ("users", "staging"):
        if (data_dir / sub).exists():
            found += [p for p in (data_dir / sub).rglob("*") if p.is_file()]
    return found


def leftovers(data_dir: Path) -> list[Path]:
    """Hidden or staging folders: what a failed or racing install leaves behind."""
    hidden = [p for p in (data_dir / "users").rglob(".*")] if (data_dir / "users").exists() else []
    staging = list((data_dir / "staging").iterdir()) if (data_dir / "staging").exists() else []
    return hidden + staging


async def test_upload_list_read_delete(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server(api_keys="ka:alice,kb:bob", skills_bundled_dir=BUNDLED_SKILLS)
    alice = {"Authorization": "Bearer ka"}
    bob = {"Authorization": "Bearer kb"}
    async with httpx2.AsyncClient(base_url=url, timeout=20, headers=alice) as http:
        response = await upload(http, make_zip(good()), "hello.zip")
        assert response.status_code == 201, response.text
        assert response.json()["files"] == ["SKILL.md", "scripts/hi.py"]
        # a root-level SKILL.md in a .tar.gz works too
        root_level = {"SKILL.md": SKILL_MD.format(name="root-hello"), "scripts/x.py": "1"}
        response = await upload(http, make_tgz(root_level), "root.tar.gz")
        assert response.status_code == 201, response.text

        listing = (await http.get("/api/v1/skills")).json()
        names = {item["name"]: item["origin"] for item in listing["items"]}
        assert names["say-hello"] == "user" and names["root-hello"] == "user"
        assert names["csv-summary"] == "bundled"
        assert listing["sandbox"]["available"] is True

        detail = (await http.get("/api/v1/skills/say-hello")).json()
        assert detail["body"].startswith("# Hello")
        file = await http.get("/api/v1/skills/say-hello/files/scripts/hi.py")
        assert file.status_code == 200 and file.text == "print(1)"
        escape = await http.get("/api/v1/skills/say-hello/files/../../sage.db")
        assert escape.status_code == 404
        encoded = await http.get("/api/v1/skills/say-hello/files/%2e%2e/%2e%2e/sage.db")
        assert encoded.status_code == 404

        # bob sees neither alice's skill nor can delete it
        other = await http.get("/api/v1/skills/say-hello", headers=bob)
        assert other.status_code == 404
        assert (await http.delete("/api/v1/skills/say-hello", headers=bob)).status_code == 404
        assert (await http.delete("/api/v1/skills/csv-summary")).status_code == 404

        assert (await http.delete("/api/v1/skills/say-hello")).status_code == 204
        assert (await http.get("/api/v1/skills/say-hello")).status_code == 404


async def test_hostile_archives_are_rejected_and_nothing_is_written(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(
        skill_upload_max_files=10, skill_upload_max_bytes=4096, skills_bundled_dir=BUNDLED_SKILLS
    )
    data_dir = tmp_path / "data0"
    cases = {
        "dotdot.zip": make_zip({**good(), "say-hello/../../evil.txt": "x"}),
        "absolute.zip": make_zip({**good(), "/etc/evil.txt": "x"}),
        "symlink.zip": make_zip(good(), symlinks={"say-hello/passwd": "/etc/passwd"}),
        "symlink.tar.gz": make_tgz(good(), links={"say-hello/passwd": "/etc/passwd"}),
        "dotdot.tar.gz": make_tgz({**good(), "say-hello/../../evil.txt": "x"}),
        "many.zip": make_zip({**good(), **{f"say-hello/f{i}.txt": "x" for i in range(20)}}),
        "big.zip": make_zip({**good(), "say-hello/big.txt": "x" * 10_000}),
        "noskill.zip": make_zip({"README.md": "hi"}),
        "notanarchive.zip": b"this is not a zip",
        "skill.rar": b"whatever",
    }
    async with httpx2.AsyncClient(base_url=url, timeout=20) as http:
        for filename, data in cases.items():
            response = await upload(http, data, filename)
            assert response.status_code == 400, (filename, response.text)
            error = response.json()["error"]
            assert error["type"] == "archive_rejected" and error["message"], filename
        invalid = make_zip({"Bad_Name/SKILL.md": "---\nname: Bad_Name\n---\n"})
        response = await upload(http, invalid, "invalid.zip")
        assert response.status_code == 422
        fields = {d["field"] for d in response.json()["error"]["details"]}
        assert {"name", "description", "body"} <= fields
        missing = await http.post(
            "/api/v1/skills", data={"nofile": "1"}, headers={"X-Sage-Client": "test"}
        )
        assert missing.status_code == 422
    assert written(data_dir) == []
    assert not (tmp_path / "evil.txt").exists() and not (data_dir / "evil.txt").exists()


async def test_requirements_over_http(start_server: StartServer, tmp_path: Path) -> None:
    """A skill's requirements are installed from the configured wheels and shown;
    one that pip cannot install is a 422 carrying pip's reason."""
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "sage-tiny-dep", "1.0", {"sage_tiny_dep/__init__.py": "VALUE = 1\n"})
    url = start_server(skill_deps_find_links=str(wheels))
    needs = {
        "needs/SKILL.md": SKILL_MD.format(name="needs"),
        "needs/requirements.txt": "sage-tiny-dep>=1\n",
    }
    missing = {
        "missing/SKILL.md": SKILL_MD.format(name="missing"),
        "missing/requirements.txt": "sage-not-on-any-index\n",
    }
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        response = await upload(http, make_zip(needs), "needs.zip")
        assert response.status_code == 201, response.text
        detail = response.json()
        assert detail["requirements"] == ["sage-tiny-dep>=1"]
        assert detail["environment"] == {"status": "ready", "error": None}
        assert detail["usable"] is True

        response = await upload(http, make_zip(missing), "missing.zip")
        assert response.status_code == 422, response.text
        body = response.json()
        [problem] = [d for d in body["error"]["details"] if d["severity"] == "error"]
        assert problem["file"] == "requirements.txt"
        assert "No matching distribution found for sage-not-on-any-index" in problem["message"]
        assert (await http.get("/api/v1/skills/missing")).status_code == 404
