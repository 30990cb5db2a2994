"""The checks behind ``sage doctor``: each part Sage needs on this machine,
found by trying it (not by reading the configuration), as a verdict with
the one-line fix a user can act on.

They run in the CLI's process, against the same settings ``sage serve``
would use, so they work whether or not a server is running."""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Literal

from sagents.data_dir_lock import DataDirInUse, DataDirLock
from sagents.llm.openai_model import OpenAIChatModel
from sagents.llm.probe import Check, probe_endpoint
from sagents.settings import Settings

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    status: Status
    detail: str
    fix: str | None = None


INSTALL_BWRAP = "sudo apt-get install bubblewrap (Fedora: sudo dnf install bubblewrap)"

_LLM_FIXES = {
    "streaming": "check SAGE_LLM_BASE_URL and SAGE_LLM_API_KEY (sage doctor --verbose)",
    "tool calling": "vLLM: --enable-auto-tool-choice; llama.cpp: --jinja; or a tool model",
    "structured output": "none needed: Sage asks for JSON in the prompt instead",
}


async def llm_verdicts(settings: Settings) -> tuple[list[Verdict], dict[str, Any]]:
    """The LLM probes (reachable, model listed, streaming, tools, structured
    output, usage) and what Sage learned about the endpoint."""
    if not settings.llm_configured:
        return [
            Verdict(
                "LLM configured",
                "fail",
                "no endpoint or model is set",
                "set SAGE_LLM_BASE_URL and SAGE_LLM_MODEL (README: Pointing Sage at an LLM), "
                "or try the bundled mock: sage mock-llm",
            )
        ], {}
    model = OpenAIChatModel(settings)
    try:
        checks = await probe_endpoint(model)
        learned = model.capabilities.report()
    finally:
        await model.aclose()
    return [_llm_verdict(check, settings) for check in checks], learned


def _llm_verdict(check: Check, settings: Settings) -> Verdict:
    if check.name == "model listed" and "is not in the list" in check.detail:
        if settings.llm_api_version:  # Azure lists models, not the deployments it serves
            return Verdict(check.name, "warn", check.detail)
        listed = check.detail.partition("(")[2].rstrip(")")
        return Verdict(
            check.name,
            "fail",
            check.detail,
            f"set SAGE_LLM_MODEL to a model the server lists: {listed}",
        )
    fix = _LLM_FIXES.get(check.name) if check.status != "ok" else None
    return Verdict(check.name, check.status, check.detail, fix)


async def mcp_verdicts(settings: Settings) -> list[Verdict]:
    """Each configured MCP server started and listed, as ``sage serve`` would."""
    from sagents.tools import ToolManager
    from sagents.tools.mcp.health import McpStatus
    from sagents.tools.mcp.manager import McpManager

    manager = McpManager.from_settings(settings, ToolManager())
    try:
        await manager.start()
        deadline = time.monotonic() + settings.mcp_connect_timeout_s
        # polled: the manager has no event for "every server settled"
        while time.monotonic() < deadline and any(  # noqa: ASYNC110
            s.status in (McpStatus.CONNECTING, McpStatus.IDLE) for s in manager.list()
        ):
            await asyncio.sleep(0.1)
        servers = manager.list()
        config_error = manager.config_error
    finally:
        await manager.aclose()
    out: list[Verdict] = []
    if config_error:
        out.append(
            Verdict(
                "MCP settings",
                "fail",
                config_error,
                f"fix {settings.mcp_settings_path} (Claude Desktop format: {{'mcpServers': …}})",
            )
        )
    for server in servers:
        name = f"MCP {server.name}"
        if server.status == McpStatus.CONNECTED:
            out.append(Verdict(name, "ok", f"started, {len(server.tools)} tools"))
        elif server.status == McpStatus.DISABLED:
            out.append(Verdict(name, "warn", "disabled", f"sage mcp enable {server.name}"))
        else:
            error = " ".join((server.last_error or server.status.value).split())
            out.append(
                Verdict(
                    name,
                    "fail",
                    error[:200],
                    f"run its command by hand to see why; logs: {settings.data_dir / 'mcp_logs'}",
                )
            )
    if not out:
        out.append(Verdict("MCP servers", "ok", "none configured"))
    return out


async def sandbox_verdict(settings: Settings) -> Verdict:
    """bubblewrap present, and a probe script run confined."""
    from sagents.skills.sandbox import Sandbox

    sandbox = Sandbox.from_settings(settings)
    if not sandbox.bwrap:
        return Verdict("sandbox", "fail", "bubblewrap (bwrap) is not on PATH", INSTALL_BWRAP)
    status = await sandbox.probe()
    if status.available:
        return Verdict("sandbox", "ok", f"a probe script ran confined; {status.detail}")
    return Verdict(
        "sandbox",
        "fail",
        status.detail,
        "see README: The skill sandbox (user namespaces must be allowed; SAGE_SKILL_CGROUPS=auto)",
    )


def data_dir_verdicts(settings: Settings) -> list[Verdict]:
    """The data directory can be created and written, and who holds it."""
    folder = settings.data_dir
    fix = f"set SAGE_DATA_DIR to a folder you can write (now {folder})"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return [Verdict("data directory", "fail", f"{folder}: {exc.strerror or exc}", fix)]
    out = [Verdict("data directory", "ok", f"{folder} is writable")]
    try:
        DataDirLock.acquire(folder).release()
    except DataDirInUse as exc:
        out.append(
            Verdict(
                "data directory lock",
                "warn",
                f"in use by a running server (pid {exc.pid or '?'})",
                "fine for sage chat; sage chat --local needs another SAGE_DATA_DIR",
            )
        )
    except OSError as exc:
        out.append(Verdict("data directory lock", "fail", str(exc), fix))
    else:
        out.append(Verdict("data directory lock", "ok", "free (no server is using it)"))
    return out


def memory_verdict(settings: Settings) -> Verdict:
    """The offline embedding model loads and embeds a sentence."""
    if not settings.memory_enabled:
        return Verdict("memory model", "ok", "long-term memory is off (SAGE_MEMORY_ENABLED)")
    from sagents.memory.embeddings import MiniLMEmbedder

    try:
        vector = MiniLMEmbedder().embed(["Sage checks its memory model."])[0]
    except Exception as exc:  # a missing wheel, a broken onnxruntime: the finding itself
        return Verdict(
            "memory model",
            "fail",
            f"{type(exc).__name__}: {exc}",
            "reinstall Sage's dependencies (python3 dev.py setup), or SAGE_MEMORY_ENABLED=false",
        )
    return Verdict("memory model", "ok", f"loads and embeds ({len(vector)} dimensions)")
