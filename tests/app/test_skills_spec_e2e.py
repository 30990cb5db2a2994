"""Skills as real users bring them, over real HTTP: every specification field,
fields of other clients, archives holding many skills."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2

from tests.app.conftest import StartServer
from tests.app.test_skills_api_e2e import leftovers, upload, written
from tests.skills.archives import good, make_tar, make_zip

FULL = """---
name: pdf-processing
description: Extract PDF text, fill forms, merge files. Use when handling PDFs.
license: Proprietary. LICENSE.txt has complete terms
compatibility: Requires git, docker, jq, and access to the internet
metadata:
  author: example-org
  version: "1.0"
allowed-tools: Bash(git:*) Bash(jq:*) Read
x-other-client: {priority: 2}
when_to_use: Whenever a PDF shows up.
---
# PDF processing
Steps.
"""


def skill(name: str, description: str = "Say hello.") -> str:
    return f"---\nname: {name}\ndescription: {description}\n---\n# {name}\nSteps.\n"


async def test_every_field_and_unknown_fields_are_kept_with_warnings(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(skills_bundled_dir=tmp_path / "none")
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        response = await upload(http, make_zip({"pdf-processing/SKILL.md": FULL}), "pdf.zip")
        assert response.status_code == 201, response.text
        installed = response.json()
        detail = (await http.get("/api/v1/skills/pdf-processing")).json()
        for body in (installed, detail):
            assert body["compatibility"] == "Requires git, docker, jq, and access to the internet"
            assert body["license"] == "Proprietary. LICENSE.txt has complete terms"
            assert body["metadata"] == {"author": "example-org", "version": "1.0"}
            assert body["allowed_tools"] == ["Bash(git:*)", "Bash(jq:*)", "Read"]
            assert body["unknown_fields"] == {
                "x-other-client": {"priority": 2},
                "when_to_use": "Whenever a PDF shows up.",
            }
            assert [(w["field"], w["severity"]) for w in body["warnings"]] == [
                ("when_to_use", "warning"),
                ("x-other-client", "warning"),
            ]


async def test_a_repository_archive_installs_each_skill(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(skills_bundled_dir=tmp_path / "none")
    data_dir = tmp_path / "data0"
    names = [f"skill-{i:02d}" for i in range(14)]
    repo: dict[str, str | bytes] = {
        "collection-main/README.md": "# A collection",
        "collection-main/LICENSE": "MIT",
    }
    for name in names:
        repo[f"collection-main/skills/{name}/SKILL.md"] = skill(name, f"Helps with {name}.")
        for j in range(20):  # 14 * 21 entries: more than the old cap of 200
            repo[f"collection-main/skills/{name}/references/r{j}.md"] = f"ref {j}"
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        response = await upload(http, make_tar(repo), "collection.tar.gz")
        assert response.status_code == 201, response.text
        items = response.json()["items"]
        assert [(i["source"], i["name"], i["ok"]) for i in items] == [
            (f"collection-main/skills/{n}", n, True) for n in names
        ]
        assert all(len(i["skill"]["files"]) == 21 for i in items)
        listed = {s["name"] for s in (await http.get("/api/v1/skills")).json()["items"]}
        assert listed == set(names)
    assert leftovers(data_dir) == []
    user_skills = next((data_dir / "users").iterdir()) / "skills"
    assert sorted(p.name for p in user_skills.iterdir()) == names  # no README, no LICENSE


async def test_some_valid_some_not_gives_207_and_none_valid_gives_422(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(skills_bundled_dir=tmp_path / "none")
    data_dir = tmp_path / "data0"
    mixed = {
        **good("fine-one", prefix="pack/"),
        "pack/Broken/SKILL.md": skill("Broken"),
        "pack/a/twin/SKILL.md": skill("twin"),
        "pack/b/twin/SKILL.md": skill("twin"),
        **good("fine-two", prefix="pack/"),
    }
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        response = await upload(http, make_zip(mixed), "mixed.zip")
        assert response.status_code == 207, response.text
        items = {i["source"]: i for i in response.json()["items"]}
        assert {s: i["ok"] for s, i in items.items()} == {
            "pack/Broken": False,
            "pack/fine-one": True,
            "pack/fine-two": True,
            "pack/a/twin": False,
            "pack/b/twin": False,
        }
        assert items["pack/Broken"]["problems"][0]["field"] == "name"
        assert "another skill in this archive" in items["pack/a/twin"]["problems"][0]["message"]
        assert items["pack/fine-one"]["skill"]["name"] == "fine-one"
        listed = {s["name"] for s in (await http.get("/api/v1/skills")).json()["items"]}
        assert listed == {"fine-one", "fine-two"}

        none_valid = {"a/SKILL.md": skill("b"), "c/SKILL.md": "---\nname: c\n---\n"}
        response = await upload(http, make_zip(none_valid), "none.zip")
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["type"] == "invalid_skill"
        assert {(d["skill"], d["field"]) for d in error["details"]} >= {
            ("a", "name"),
            ("c", "description"),
        }
    assert leftovers(data_dir) == []
    assert not any("/a/" in str(p) or "/c/" in str(p) for p in written(data_dir))


async def test_single_skill_shapes_stay_as_they_were(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(skills_bundled_dir=tmp_path / "none")
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        # one extra top folder: still one skill, answered with its detail
        response = await upload(http, make_zip(good(prefix="hello-main/")), "hello.zip")
        assert response.status_code == 201
        assert response.json()["name"] == "say-hello" and "items" not in response.json()
        response = await upload(http, make_zip({"x/SKILL.md": skill("y")}), "bad.zip")
        assert response.status_code == 422
        assert "skill" not in response.json()["error"]["details"][0]


async def test_archives_larger_than_a_message_are_accepted_up_to_their_own_cap(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(
        skills_bundled_dir=tmp_path / "none",
        max_message_bytes=100_000,
        skill_archive_max_bytes=3_000_000,
    )
    noise = os.urandom(1_500_000)  # incompressible
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        data = make_zip({**good(), "say-hello/assets/noise.bin": noise})
        response = await upload(http, data, "big.zip")
        assert response.status_code == 201, response.text[:300]
        too_big = make_zip({**good(), "say-hello/assets/noise.bin": noise + os.urandom(1_600_000)})
        response = await upload(http, too_big, "too-big.zip")
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "payload_too_large"
        # the chat body limit is unchanged
        response = await http.post(
            "/api/v1/chat", content=b"x" * 200_000, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
