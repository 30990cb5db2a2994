"""Hostile skills over real HTTP: YAML bombs, lying archives, racing uploads.

Each answer must be a 4xx with a JSON body (or a success), never a 500, and
a refused upload must leave nothing in the data directory.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
import pytest

from tests.app.conftest import StartServer
from tests.app.test_skills_api_e2e import leftovers, upload, written
from tests.skills.archives import (
    billion_laughs,
    declare_zip_size,
    encrypted_zip,
    good,
    long_name_tar,
    make_tar,
    make_zip,
    overlapping_zip,
    truncated_tar,
)

HEAD = "---\nname: bomb\ndescription: d\n"


def skill_zip(front: str, name: str = "bomb") -> bytes:
    return make_zip({f"{name}/SKILL.md": front + "---\n# Body\nsteps\n"})


@pytest.fixture
def server(start_server: StartServer, tmp_path: Path) -> str:
    return start_server(skills_bundled_dir=tmp_path / "none", skill_upload_max_bytes=4_000_000)


async def answer(http: httpx2.AsyncClient, data: bytes, filename: str) -> tuple[int, str | None]:
    """Status and error type of one upload; a dropped connection counts as a 500."""
    try:
        response = await upload(http, data, filename)
    except httpx2.HTTPError:
        return 500, "connection lost"
    error = response.json().get("error", {}) if response.status_code >= 400 else {}
    if response.status_code in (400, 422):
        assert error["message"] and error["details"], filename
    return response.status_code, error.get("type")


async def expect_refused(http: httpx2.AsyncClient, data: bytes, filename: str) -> dict[str, object]:
    response = await upload(http, data, filename)
    assert response.status_code in (400, 422), (filename, response.status_code, response.text)
    error = response.json()["error"]
    assert error["type"] in ("archive_rejected", "invalid_skill") and error["message"]
    return dict(error)


async def test_yaml_bombs_and_non_json_front_matter_get_422(server: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data0"
    bombs = {
        # 10^6 strings on main; aliases alone are the attack, the size is bounded by the test
        "alias": HEAD + "metadata:\n  " + billion_laughs(7).replace("\n", "\n  ") + "\n",
        "flow-nesting": HEAD + "x: " + "[" * 20_000 + "\n",
        "block-nesting": HEAD + "x:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 40)),
        "binary": HEAD + "metadata:\n  blob: !!binary aGVsbG8=\n",
        "python-object": HEAD + "x: !!python/object/apply:os.system ['true']\n",
        "nan": HEAD + "x: .nan\n",
        "huge-int": HEAD + "x: " + "9" * 5000 + "\n",
        "list-key": HEAD + "? [a, b]\n: c\n",
    }
    async with httpx2.AsyncClient(base_url=server, timeout=30) as http:
        answers = {}
        for label, front in bombs.items():
            answers[label] = await answer(http, skill_zip(front), f"{label}.zip")
        assert answers == dict.fromkeys(bombs, (422, "invalid_skill"))
        listing = await http.get("/api/v1/skills")
        assert listing.status_code == 200 and listing.json()["items"] == []
    assert written(data_dir) == [] and leftovers(data_dir) == []


async def test_json_compatible_front_matter_reads_back(server: str) -> None:
    front = (
        HEAD + "released: 2024-01-01\n1: one\nanchor: &a kept\n"
        "metadata:\n  version: 1.10\n  beta: yes\n  7: seven\n"
    )
    async with httpx2.AsyncClient(base_url=server, timeout=30) as http:
        response = await upload(http, skill_zip(front), "ok.zip")
        assert response.status_code == 201, response.text
        detail = (await http.get("/api/v1/skills/bomb")).json()
        assert detail["metadata"] == {"version": "1.10", "beta": "yes", "7": "seven"}
        assert detail["unknown_fields"] == {"released": "2024-01-01", "1": "one", "anchor": "kept"}
        assert (await http.get("/api/v1/skills")).status_code == 200


async def test_lying_and_malformed_archives_get_400_and_leave_nothing(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = start_server(skills_bundled_dir=tmp_path / "none", skill_upload_max_bytes=100_000)
    data_dir = tmp_path / "data0"
    payload = b"A" * 90_000
    honest = make_zip({**good(), "say-hello/data.bin": payload})
    cases = {
        "lying-small.zip": declare_zip_size(honest, "say-hello/data.bin", 10),
        "lying-large.zip": declare_zip_size(honest, "say-hello/data.bin", 95_000),
        "overlap.zip": overlapping_zip(
            {**good(), "say-hello/aaaa.txt": "x" * 500}, "say-hello/aaaa.txt", "say-hello/bbbb.txt"
        ),
        "encrypted.zip": encrypted_zip(good(), "say-hello/scripts/hi.py"),
        "twice.zip": make_zip({**good(), "say-hello/./scripts//hi.py": "print(2)"}),
        "file-and-folder.zip": make_zip({**good(), "say-hello/n": "x", "say-hello/n/m": "y"}),
        "control-chars.zip": make_zip({**good(), "say-hello/a\x1b[2Jb.txt": "x"}),
        "newline.tar.gz": make_tar({**good(), "say-hello/a\nb.txt": "x"}),
        "backslash.zip": make_zip({**good(), "say-hello\\evil.txt": "x"}),
        "long-name.tar.gz": long_name_tar(100_000),
        "long-part.zip": make_zip({**good(), "say-hello/" + "n" * 300: "x"}),
        "truncated.tar.gz": truncated_tar("say-hello/data.bin", 50_000, b"short"),
        "sparse.tar.gz": make_tar(good(), sparse=["say-hello/holes.bin"]),
        "gzip-bomb.tar.gz": make_tar({**good(), "say-hello/z.bin": b"\0" * 30_000_000}),
        "zip-bomb.zip": make_zip({**good(), "say-hello/z.bin": b"\0" * 30_000_000}),
        "empty-name.zip": make_zip({"bad/SKILL.md": "---\nname: ''\ndescription: d\n---\nb\n"}),
    }
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        answers = {}
        for filename, data in cases.items():
            answers[filename] = (await answer(http, data, filename))[0]
            if not (written(data_dir) == [] and leftovers(data_dir) == []):
                answers[filename] = -1  # something was left behind
        expected = dict.fromkeys(cases, 400) | {"empty-name.zip": 422}
        assert answers == expected
        # the honest one of the same shape installs and reads back whole
        assert (await upload(http, honest, "honest.zip")).status_code == 201
        read = await http.get("/api/v1/skills/say-hello/files/data.bin")
        assert read.status_code == 200 and read.text == payload.decode()


async def test_same_name_different_case(server: str) -> None:
    async with httpx2.AsyncClient(base_url=server, timeout=30) as http:
        upper = make_zip({"Say-Hello/SKILL.md": "---\nname: Say-Hello\ndescription: d\n---\nb\n"})
        error = await expect_refused(http, upper, "upper.zip")
        assert error["type"] == "invalid_skill"
        mismatch = make_zip({"SAY-HELLO/SKILL.md": "---\nname: say-hello\ndescription: d\n---\nb"})
        assert "does not match the folder" in str(await expect_refused(http, mismatch, "m.zip"))
        files = make_zip({**good(), "say-hello/Notes.md": "upper", "say-hello/notes.md": "lower"})
        assert (await upload(http, files, "files.zip")).status_code == 201
        assert (await http.get("/api/v1/skills/say-hello/files/Notes.md")).text == "upper"
        assert (await http.get("/api/v1/skills/say-hello/files/notes.md")).text == "lower"


async def test_concurrent_uploads_of_one_name_each_replace_it_whole(
    server: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data0"
    versions = [
        make_zip(
            {
                "racer/SKILL.md": f"---\nname: racer\ndescription: version {i}\n---\nbody {i}\n",
                **{f"racer/scripts/v{i}_{j}.py": f"print({i})" for j in range(20)},
            }
        )
        for i in range(8)
    ]
    async with httpx2.AsyncClient(base_url=server, timeout=60) as http:
        for _ in range(4):
            responses = await asyncio.gather(
                *(upload(http, data, f"racer{i}.zip") for i, data in enumerate(versions))
            )
            assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
            detail = (await http.get("/api/v1/skills/racer")).json()
            version = detail["description"].removeprefix("version ")
            # whole: the body and all 20 scripts of one version, nothing of another
            assert detail["body"] == f"body {version}\n"
            scripts = sorted(f"scripts/v{version}_{j}.py" for j in range(20))
            assert detail["files"] == ["SKILL.md", *scripts]
            assert leftovers(data_dir) == []
        users = list((data_dir / "users").iterdir())
        assert len(users) == 1 and [p.name for p in (users[0] / "skills").iterdir()] == ["racer"]
        # and a delete racing uploads ends in a consistent state
        results = await asyncio.gather(
            http.delete("/api/v1/skills/racer"),
            upload(http, versions[0], "again.zip"),
            http.delete("/api/v1/skills/racer"),
        )
        assert {r.status_code for r in results} <= {201, 204, 404}
        assert leftovers(data_dir) == []
