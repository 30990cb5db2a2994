"""What a scenario gets to work with: the running mock LLM, a scratch
directory, the run's size, and helpers to build Sage the way a user would
(in process, or as a server in its own process)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.direct import DirectClient, LeanDirectClient
from bench.mock import Workload
from bench.procs import Child
from sagents.runtime import Runtime
from sagents.settings import Settings
from sagents.tools import ToolManager

ORCHESTRATION_ONLY: dict[str, Any] = {
    "memory_enabled": False,
    "mcp_settings_path": None,
    "builtin_tools": [],
}
"""These scenarios measure orchestration: no long-term memory (its recall
embeds every input, its extraction makes LLM calls after each run), no
MCP servers from a stray mcp_setting.json, and no built-in tools (the
baselines send the scenario's own tools only). Memory and MCP get scenarios
of their own."""


@dataclass
class BenchEnv:
    mock_url: str
    workdir: Path
    mock_pid: int | None = None
    """The mock LLM's process, for scenarios that account for its CPU."""
    quick: bool = False
    _dirs: itertools.count[int] = field(default_factory=itertools.count)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def data_dir(self, label: str) -> Path:
        path = self.workdir / f"{label}-{next(self._dirs)}"
        path.mkdir(parents=True)
        return path

    def settings(self, label: str, workload: Workload, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": self.data_dir(label),
            "llm_base_url": self.mock_url,
            "llm_model": workload.model(),
            "llm_api_key": "bench",
            **ORCHESTRATION_ONLY,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    @asynccontextmanager
    async def runtime(
        self,
        label: str,
        workload: Workload,
        tools: ToolManager | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Runtime]:
        rt = await Runtime.create(self.settings(label, workload, **overrides), tools=tools)
        try:
            yield rt
        finally:
            await rt.aclose()

    @asynccontextmanager
    async def direct(self, *, lean: bool = False) -> AsyncIterator[DirectClient]:
        """The raw-SDK baseline, or with ``lean`` the bare-httpx2 one (bench.direct)."""
        async with (LeanDirectClient if lean else DirectClient)(self.mock_url) as client:
            yield client

    def _server_env(self, label: str, workload: Workload) -> dict[str, str]:
        return {
            "SAGE_LLM_BASE_URL": self.mock_url,
            "SAGE_LLM_MODEL": workload.model(),
            "SAGE_LLM_API_KEY": "bench",
            "SAGE_DATA_DIR": str(self.data_dir(label)),
            "SAGE_MEMORY_ENABLED": "false",
            "SAGE_MCP_SETTINGS_PATH": "",
            "SAGE_BUILTIN_TOOLS": "",
            # sage serve's own limits (app/server.py), raised past the
            # 1,000-stream scenario's connections plus its warm-up
            "SAGE_HTTP_MAX_CONNECTIONS": "4000",
            "SAGE_HTTP_BACKLOG": "4096",
        }

    @asynccontextmanager
    async def server(
        self, label: str, workload: Workload, extra_env: dict[str, str] | None = None
    ) -> AsyncIterator[Child]:
        """``bench.server`` (the Sage app plus the ``add`` tool) in its own
        process; ``extra_env`` adds or overrides ``SAGE_*`` settings."""
        env = {**self._server_env(label, workload), **(extra_env or {})}
        with Child("bench.server", "URL", env) as child:
            await child.start("/healthz")
            yield child

    @asynccontextmanager
    async def relay(self, label: str, workload: Workload) -> AsyncIterator[Child]:
        """``bench.relay`` (the lean relay baseline) in its own process, same settings."""
        with Child("bench.relay", "URL", self._server_env(label, workload)) as child:
            await child.start("/healthz")
            yield child
