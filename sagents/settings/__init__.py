"""Configuration, read once at start-up from ``SAGE_*`` variables and ``.env``.

The settings object is immutable and passed down inside the ``Runtime``;
nothing reads the environment after start-up, so a test or an embedding
application can build several runtimes with different settings side by side.

``Settings`` is one flat object (``settings.llm_model``, ``SAGE_LLM_MODEL``),
assembled from one part per area so each area's fields, descriptions and
validators read together:

- ``llm.py``: the LLM endpoint, models per role, call timeouts and caps;
- ``context.py``: context windows, history and memory;
- ``runs.py``: defaults for run options, per-run limits, resumable runs;
- ``server.py``: data directory, address, HTTP connections, event streams;
- ``access.py``: API keys, users, admins, trusted host names;
- ``tools.py``: tool calls, built-in tools, user tool modules, MCP;
- ``scale_out.py``: PostgreSQL, Redis, run leases, the event log writer;
- ``sandbox.py``: the limits and confinement of a skill script;
- ``skills.py``: bundled skills, requirements, skill and session uploads;
- ``observability.py``: spans, metrics, log format;
- ``approvals.py``: approval timeouts, polling, skill scripts that wait for a person.

A new setting goes into its area's part; a new area gets its own module
with a ``BaseModel`` part, added to ``Settings``' bases. A part is a plain
``BaseModel``: only ``Settings`` reads the environment, and its
``model_config`` (prefix, ``.env``, frozen) applies to every field.
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from sagents.settings.access import AccessSettings
from sagents.settings.approvals import ApprovalSettings
from sagents.settings.context import ContextSettings
from sagents.settings.llm import DECIDER_ROLES, LlmSettings
from sagents.settings.observability import ObservabilitySettings
from sagents.settings.runs import RunSettings
from sagents.settings.sandbox import SandboxSettings
from sagents.settings.scale_out import ScaleOutSettings
from sagents.settings.server import ServerSettings, default_data_dir
from sagents.settings.skills import SkillSettings
from sagents.settings.tools import DEFAULT_BUILTIN_TOOLS, BuiltinToolName, ToolSettings

__all__ = [
    "DECIDER_ROLES",
    "DEFAULT_BUILTIN_TOOLS",
    "NOT_CONFIGURED_MESSAGE",
    "BuiltinToolName",
    "Settings",
    "default_data_dir",
]


# pydantic lists the fields of the last base first: the bases are in reverse
# of the order ``model_dump`` (and so ``sage doctor``) shows the areas in.
class Settings(
    ApprovalSettings,
    ObservabilitySettings,
    SkillSettings,
    SandboxSettings,
    ScaleOutSettings,
    ToolSettings,
    AccessSettings,
    ServerSettings,
    RunSettings,
    ContextSettings,
    LlmSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(
        env_prefix="SAGE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    def masked(self) -> dict[str, Any]:
        """The resolved settings with secrets masked, for ``sage doctor``."""
        data = self.model_dump()
        key = self.llm_api_key.get_secret_value() if self.llm_api_key else ""
        data["llm_api_key"] = (
            (key[:3] + "…" + key[-2:]) if len(key) > 8 else ("***" if key else None)
        )
        data["api_keys"] = f"{len(self.api_keys)} keys for users: " + ", ".join(
            sorted(set(self.api_keys.values()))
        )
        data["data_dir"] = str(self.data_dir)
        data["admin_users"] = sorted(self.admin_users)
        data["llm_default_headers"] = {name: "***" for name in self.llm_default_headers}
        return data


NOT_CONFIGURED_MESSAGE = (
    "No LLM is configured. Set SAGE_LLM_MODEL and SAGE_LLM_BASE_URL (any OpenAI-compatible "
    "endpoint, e.g. http://127.0.0.1:11434/v1 for Ollama), plus SAGE_LLM_API_KEY if the "
    "endpoint needs one, then restart Sage."
)
