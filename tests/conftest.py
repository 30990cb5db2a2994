"""Shared fixtures: settings on a temp data dir and runtimes around a ScriptedLLM."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sagents.runtime import Runtime
from sagents.settings import Settings
from sagents.testing import ScriptedLLM
from sagents.tools import ToolManager

BUNDLED_SKILLS = Path(__file__).resolve().parents[1] / "skill_workspace"
CANCEL_BOUND_S = 2.0
"""How soon ``run.cancelled`` must follow a cancel in the tests: far below the
10 s the tests' slow tools and streams would take, so it proves the cancel
interrupted the work rather than waited for it, and far above this shared
machine's scheduling noise. The latency itself is measured in bench/ (the
cancel scenario: p99 of a few ms)."""


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "llm_base_url": "http://127.0.0.1:9/v1",
        "llm_model": "test-model",
        "llm_api_key": "test-key",
        "llm_retry_base_delay_s": 0.01,
        "llm_retry_max_delay_s": 0.05,
        # Extraction asks the LLM after every run and would take scripted
        # turns meant for the test; memory tests turn it back on.
        "memory_extract": False,
        # Likewise the skill selector runs before every simple-path answer
        # when skills exist; skill tests opt in with BUNDLED_SKILLS.
        "skills_bundled_dir": data_dir / "no-bundled-skills",
        # No test reaches a package index: a skill's requirements come from
        # the wheels a test builds and names in skill_deps_find_links.
        "skill_deps_no_index": True,
        # Built-in tools would be in every LLM request; tests of them opt in.
        "builtin_tools": [],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


RuntimeFactory = Callable[..., Awaitable[Runtime]]


@pytest.fixture
async def make_runtime(settings: Settings) -> AsyncIterator[RuntimeFactory]:
    """Build runtimes around a ScriptedLLM; all are closed after the test."""
    built: list[Runtime] = []

    async def factory(llm: ScriptedLLM, tools: ToolManager | None = None, **kw: Any) -> Runtime:
        rt = await Runtime.create(kw.pop("settings", settings), llm=llm, tools=tools, **kw)
        built.append(rt)
        return rt

    yield factory
    for rt in built:
        await rt.aclose()


# A Chroma server per test run, from the installed chromadb (tests/chroma_server.py),
# and a PostgreSQL database per test run, a schema per test (tests/pg.py).
from tests.chroma_server import chroma_url  # noqa: E402, F401
from tests.pg import pg_database, pg_url  # noqa: E402, F401
