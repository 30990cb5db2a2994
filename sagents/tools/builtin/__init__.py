"""Sage's built-in tools: code execution, the session's files, the user's
memory, and (off by default) fetching from allowed hosts.

They are ordinary ToolSpecs registered in the Runtime's ToolManager under
``ToolSource.BUILTIN``, the lowest precedence, so a user's own tool or an MCP
tool of the same name replaces one. Which are registered is the operator's
choice (``SAGE_BUILTIN_TOOLS``); a request narrows them (``builtin_tools``).
The session and user a call acts for come from its ``CallScope``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sagents.memory.manager import UserMemoryManager
from sagents.settings import Settings
from sagents.skills.manager import SkillManager
from sagents.tools.builtin.fetch import fetch_tool
from sagents.tools.builtin.files import file_tools
from sagents.tools.builtin.memory import memory_tools
from sagents.tools.builtin.python import python_tool
from sagents.tools.manager import ToolManager
from sagents.tools.spec import ToolSource, ToolSpec

MEMORY_TOOLS = frozenset({"remember", "recall", "forget"})


def builtin_tools(
    settings: Settings, skills: SkillManager | None, memory: UserMemoryManager | None
) -> list[ToolSpec]:
    """The built-in tools the settings turn on (memory ones only with memory,
    workspace ones only with a workspace to work in)."""
    wanted = set(settings.builtin_tools)
    specs: list[ToolSpec] = []
    if skills is not None:
        specs.append(python_tool(skills))
        specs += file_tools(skills)
    if memory is not None:
        specs += memory_tools(memory)
    if "fetch_url" in wanted:
        specs.append(fetch_tool(settings))
    return [spec for spec in specs if spec.name in wanted]


def register_builtins(manager: ToolManager, specs: Iterable[ToolSpec]) -> None:
    for spec in specs:
        manager.add(spec, source=ToolSource.BUILTIN, replace=True)


def hidden_builtins(manager: ToolManager, requested: Iterable[str] | None) -> set[str]:
    """Built-in tools a request's ``builtin_tools`` leaves out (a tool of the
    same name from another source is not hidden)."""
    if requested is None:
        return set()
    keep = set(requested)
    return {
        spec.name
        for spec in manager.list()
        if spec.source is ToolSource.BUILTIN and spec.name not in keep
    }
