"""Configuration, read once at start-up from ``SAGE_*`` variables and ``.env``.

The settings object is immutable and passed down inside the ``Runtime``;
nothing reads the environment after start-up, so a test or an embedding
application can build several runtimes with different settings side by side.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DECIDER_ROLES = frozenset(
    {"router", "judge", "suggest", "memory", "workflow_select", "skill_select"}
)
"""Roles that make short decisions and default to the fast model."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/sage``, falling back to ``~/.local/share/sage``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sage"


BuiltinToolName = Literal[
    "execute_python",
    "list_files",
    "read_file",
    "write_file",
    "remember",
    "recall",
    "forget",
    "fetch_url",
]
"""Sage's built-in tools (``sagents/tools/builtin/``)."""
DEFAULT_BUILTIN_TOOLS: tuple[BuiltinToolName, ...] = (
    "execute_python",
    "list_files",
    "read_file",
    "write_file",
    "remember",
    "recall",
    "forget",
)
"""On unless the operator says otherwise; ``fetch_url`` reaches the network and is off."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAGE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # LLM endpoint. These four names are public: users and scripts depend on them.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_fast_model: str | None = Field(
        default=None,
        description="Model for deciding roles (router, judge, …); defaults to llm_model.",
    )
    llm_role_models: dict[str, str] = Field(
        default_factory=dict, description="Explicit role → model overrides, as JSON."
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Whole-call timeout.")
    llm_connect_timeout_s: float = Field(default=10.0, gt=0)
    llm_first_chunk_timeout_s: float = Field(
        default=60.0, gt=0, description="Time allowed until the first streamed chunk."
    )
    llm_max_retries: int = Field(default=3, ge=0, le=10)
    llm_retry_base_delay_s: float = Field(default=0.5, ge=0)
    llm_retry_max_delay_s: float = Field(default=8.0, ge=0)
    llm_retry_after_max_s: float = Field(
        default=60.0,
        ge=0,
        description="Longest wait honoured from a 429/503 Retry-After (also bounded by the "
        "call's deadline).",
    )
    llm_max_connections: int = Field(default=1000, ge=1)
    # What one streamed message may hold (sagents/agents/streaming.py). Past
    # these the model's output is not read on: its stream is closed.
    llm_max_answer_chars: int = Field(
        default=200_000,
        ge=1000,
        description="Cap on one message's answer text; past it the message is cut, "
        "marked and the run goes on (agent.notice output_truncated).",
    )
    llm_max_reasoning_chars: int = Field(
        default=200_000,
        ge=1000,
        description="Cap on one message's reasoning text; past it reasoning is no longer "
        "forwarded (agent.notice reasoning_truncated) and the answer is still read.",
    )
    llm_max_tool_args_chars: int = Field(
        default=200_000,
        ge=1000,
        description="Cap on the tool-call arguments of one message; the call that passes "
        "it is not made and gets an error result.",
    )
    llm_api_version: str | None = Field(
        default=None,
        description="Azure OpenAI API version; when set, SAGE_LLM_BASE_URL is the Azure "
        "endpoint and model names are deployment names.",
    )
    llm_organization: str | None = Field(
        default=None, description="OpenAI organization header (OpenAI-Organization)."
    )
    llm_project: str | None = Field(
        default=None, description="OpenAI project header (OpenAI-Project)."
    )
    llm_default_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra HTTP headers sent with every LLM request, as JSON (a gateway's "
        "routing or auth headers).",
    )

    # Operator defaults for run options a request leaves out (sagents/request.py).
    default_deep_thinking: bool | None = Field(
        default=None,
        description="deep_thinking when a request does not say; unset lets the router decide.",
    )
    default_multi_agent: bool | None = Field(
        default=None,
        description="multi_agent when a request does not say; unset lets the router decide.",
    )
    default_more_suggest: bool = Field(
        default=False, description="more_suggest when a request does not say."
    )
    default_force_summary: bool = Field(
        default=False, description="force_summary when a request does not say."
    )
    skill_selection: bool = Field(
        default=True,
        description="Let an LLM call pick a fitting skill before answering (when skills are "
        "available); false keeps the skills and their tools but skips that call. A request's "
        "skill_selection overrides it.",
    )
    system_prompt: str | None = Field(
        default=None,
        max_length=100_000,
        description="Replaces Sage's built-in system prompt (the opening that says who the "
        "assistant is).",
    )

    data_dir: Path = Field(default_factory=default_data_dir)

    # identity: API key -> user id; empty means single local user, loopback only
    api_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    local_user: str = "local"

    # limits
    max_message_bytes: int = Field(default=1_000_000, ge=1)
    max_loop_count: int = Field(default=10, ge=1, le=1000)
    tool_timeout_s: float = Field(default=60.0, gt=0)
    tool_max_result_chars: int = Field(
        default=20_000, ge=1, description="Cap on a tool result's text (a note says it was cut)."
    )
    builtin_tools: Annotated[list[BuiltinToolName], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_BUILTIN_TOOLS),
        description="Built-in tools offered to runs, comma-separated or a JSON list "
        "(execute_python, list_files, read_file, write_file, remember, recall, forget, "
        "fetch_url); default: all but fetch_url. A request narrows them with builtin_tools.",
    )
    fetch_url_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts fetch_url may reach ('example.org', or '*.example.org' for its "
        "subdomains); none without this, even when fetch_url is on.",
    )
    fetch_url_max_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest response body fetch_url reads."
    )
    fetch_url_timeout_s: float = Field(
        default=15.0, gt=0, description="Longest one fetch_url call may take."
    )
    tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Python modules whose @tool functions are registered at start-up "
        "(SAGE_TOOLS=my_pkg.tools,other), besides the 'sage.tools' entry points.",
    )

    # MCP servers. A relative mcp_settings_path is resolved against the working
    # directory at start-up; a missing file means no configured servers.
    mcp_settings_path: Path | None = Field(
        default=Path("mcp_setting.json"),
        description="mcp_setting.json (Claude Desktop format); empty to load none.",
    )
    mcp_connect_timeout_s: float = Field(default=20.0, gt=0)
    mcp_call_timeout_s: float = Field(default=60.0, gt=0)
    mcp_startup_wait_s: float = Field(
        default=5.0, ge=0, description="How long start-up waits for MCP servers to connect."
    )
    mcp_max_result_bytes: int = Field(
        default=8 * 2**20,
        ge=64 * 1024,
        description="Cap on one message from an MCP server, checked before it is buffered "
        "whole; a larger answer fails that call only (legacy SSE: at most 1 MiB).",
    )
    mcp_tool_prefix: Literal["none", "server"] = Field(
        default="none",
        description='How MCP tools are named when a server entry gives no "prefix": '
        "none (the tool's own name) or server (<server>_<tool>), so servers offering the "
        "same tool names can coexist.",
    )
    admin_users: Annotated[set[str], NoDecode] = Field(
        default_factory=set,
        description="Users who may register or change MCP servers (the local user always may).",
    )
    run_retention_s: float = Field(
        default=900.0, ge=0, description="How long a finished run's events stay resumable."
    )
    run_log_max_bytes: int = Field(
        default=16 * 2**20,
        ge=64 * 1024,
        description="Approximate bytes of events kept per run for resumption; past it the "
        "oldest are dropped (a resume before them gets 410).",
    )
    run_log_total_bytes: int = Field(
        default=256 * 2**20,
        ge=64 * 1024,
        description="Approximate bytes of events kept for all runs; past it finished runs "
        "are forgotten oldest first, before run_retention_s.",
    )
    sse_ping_s: float = Field(default=15.0, gt=0)

    # scale-out (sagents/store/postgres.py, sagents/runs/)
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://… to keep sessions, runs, messages and the event log in "
        "PostgreSQL (shared by every replica); unset means SQLite in data_dir.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, le=200, description="Most PostgreSQL connections one process opens."
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://… for the run registry shared by replicas (cancel from any "
        "replica, live events, the per-session lock); unset means in-process.",
    )
    run_lease_s: float = Field(
        default=30.0,
        ge=2.0,
        description="A run's lease: its process renews it every third of this; a run whose "
        "lease expired (its process died) is marked interrupted by the next recovery.",
    )
    event_log_flush_s: float = Field(
        default=0.2,
        gt=0,
        le=10,
        description="Most time a run's events wait before being written to the event log.",
    )
    event_log_batch: int = Field(
        default=512,
        ge=1,
        description="Events that make the event log writer flush at once.",
    )

    # history and memory (sagents/context/history.py, sagents/memory/)
    llm_context_windows: dict[str, int] = Field(
        default_factory=dict,
        description="Model (or model-name prefix) → context window in tokens, as JSON.",
    )
    llm_image_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Models (or model-name prefixes) that take image parts, comma-separated "
        "or a JSON list: images tool calls return (MCP) are sent to them in the run's next "
        "requests; other models get the images described (type and size).",
    )
    llm_context_window: int = Field(
        default=32_768, ge=1024, description="Context window of models not listed."
    )
    llm_output_reserve_tokens: int = Field(
        default=4096, ge=0, description="Tokens kept free for the answer (at most a quarter)."
    )
    history_recent_turns: int = Field(default=3, ge=1, description="Turns always sent.")
    history_cache_sessions: int = Field(default=256, ge=1)
    memory_enabled: bool = True
    memory_extract: bool = Field(
        default=True, description="Extract memories after each finished run."
    )
    memory_recall_k: int = Field(default=5, ge=0, le=50)
    memory_queue_size: int = Field(default=100, ge=1)
    chroma_url: str | None = Field(
        default=None, description="A Chroma server (http://host:port); empty = embedded."
    )

    # the one address setting (app/cli/address.py): `sage serve` binds it,
    # the CLI talks to it; SAGE_HOST/SAGE_PORT are used when it is unset
    url: str | None = Field(
        default=None,
        description="The server's address, e.g. http://127.0.0.1:19080: `sage serve` binds its "
        "host and port (its --host/--port flags win) and the CLI connects to it.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    # browsers (app/host_guard.py, app/cross_site.py): who may address the server
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names (no port; '*.example.org' for subdomains) accepted in the Host "
        "header besides loopback ones. Without API keys only loopback and these are served; "
        "with keys, any Host is unless this is set.",
    )
    allow_mcp_commands: bool = Field(
        default=False,
        description="Let admins register MCP servers that run a command on this host over "
        "the API (mcp_setting.json entries are always loaded).",
    )

    # connections (app/server.py, sage serve): what one client can hold or send
    http_max_header_bytes: int = Field(
        default=16_384, ge=1024, description="Request line plus headers; larger ones get 400."
    )
    http_max_connections: int = Field(
        default=1000, ge=1, description="Open connections (and requests); more get 503."
    )
    http_backlog: int = Field(default=2048, ge=1, description="Pending connections the OS queues.")
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, description="Time a client has to send a request's headers."
    )
    http_body_timeout_s: float = Field(
        default=60.0, gt=0, description="Time a client has to send a request's body (408)."
    )
    http_keepalive_s: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this."
    )
    http_graceful_shutdown_s: int = Field(
        default=10, ge=0, description="How long shutdown waits for open responses."
    )
    sse_send_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="A stream whose client has read nothing for this long is closed "
        "(and its run cancelled, unless on_disconnect is 'continue').",
    )

    # skills (sagents/skills): where they live and how their scripts are confined
    skills_bundled_dir: Path | None = Field(
        default=None, description="The skills shipped with Sage; None finds skill_workspace/."
    )
    skills_allow_unsandboxed: bool = Field(
        default=False,
        description="Run skill scripts without bubblewrap when it cannot run (unsafe; "
        "logs a warning at every use).",
    )
    skills_prompt_tokens: int = Field(default=1500, ge=50)
    skill_cpu_s: int = Field(default=10, ge=1)
    skill_memory_mb: int = Field(default=512, ge=32)
    skill_file_size_mb: int = Field(default=16, ge=1)
    skill_max_procs: int = Field(default=32, ge=4)
    skill_wall_s: float = Field(default=30.0, gt=0)
    skill_max_output_bytes: int = Field(default=65_536, ge=1024)
    skill_workspace_mb: int = Field(
        default=100,
        ge=1,
        description="Size of a script's workspace (a tmpfs, counted in the memory limit); "
        "a call that fills it keeps none of its file changes.",
    )
    skill_workspace_max_files: int = Field(
        default=10_000, ge=10, description="Files and folders a session's workspace may hold."
    )
    skill_cpu_cores: float = Field(
        default=1.0, gt=0, description="CPU cores a script call may use at once (cgroups only)."
    )
    skill_cgroups: Literal["auto", "v2", "v1", "off"] = Field(
        default="auto",
        description="cgroups limiting each script call's whole process tree: auto (v2, "
        "else v1, else none), v2 or v1 (scripts refused without it), off.",
    )
    skill_cgroup_parent: str | None = Field(
        default=None,
        description="cgroup path (from the hierarchy's root) under which run cgroups are "
        "made; default: Sage's own cgroup.",
    )
    # skill requirements (sagents/skills/environments.py, pip_install.py)
    skill_deps_install: bool = Field(
        default=True,
        description="Install the Python packages a skill lists in requirements.txt (binary "
        "wheels only, at install time, never in the sandbox); false: such a skill is refused "
        "at upload, and one already installed stays usable only if its packages are.",
    )
    skill_deps_index_url: str | None = Field(
        default=None,
        description="Package index for skill requirements; default: what the server's pip "
        "uses (pip.conf, PIP_INDEX_URL).",
    )
    skill_deps_find_links: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Folders or URLs of wheels for skill requirements (pip --find-links), "
        "comma-separated or a JSON list.",
    )
    skill_deps_no_index: bool = Field(
        default=False,
        description="Install skill requirements only from skill_deps_find_links (pip --no-index).",
    )
    skill_deps_timeout_s: float = Field(
        default=300.0, gt=0, description="Longest one skill's pip install may take."
    )
    skill_deps_max_mb: int = Field(
        default=512,
        ge=1,
        description="Largest a skill's installed requirements may be (downloads included).",
    )
    # session files (app/routes/files.py): uploads into a session's workspace
    session_upload_max_bytes: int = Field(
        default=25_000_000,
        ge=1024,
        description="Largest upload request (all its files together) to a session's files; "
        "the workspace as a whole stays within SAGE_SKILL_WORKSPACE_MB.",
    )
    session_upload_max_files: int = Field(
        default=20, ge=1, le=1000, description="Files one upload request may carry."
    )
    skill_archive_max_bytes: int = Field(
        default=20_000_000,
        ge=1024,
        description="Largest skill archive (.zip/.tar.gz) an upload may send, as uploaded.",
    )
    skill_upload_max_bytes: int = Field(
        default=50_000_000,
        ge=1024,
        description="All files of an uploaded skill archive together, unpacked (counted "
        "on the bytes actually read, not the sizes the archive declares).",
    )
    skill_upload_max_files: int = Field(
        default=5_000,
        ge=1,
        description="Entries in an uploaded skill archive (an archive may hold many skills).",
    )

    # Observability (sagents/observability/). Traces and OTLP metrics are
    # configured by the standard OTEL_* variables, not here.
    otel_capture_content: bool = Field(
        default=False,
        description="Record message and tool-call content on spans (the GenAI conventions' "
        "opt-in); off by default, since prompts and results may hold personal data.",
    )
    metrics_enabled: bool = Field(
        default=False,
        description="Serve Prometheus metrics on GET /metrics (behind the API keys when set).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="sage serve's log lines: text, or one JSON object per line.",
    )
    # approvals (human in the loop): one block, keep it together
    approval_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="How long a tool call that needs approval waits for a decision; "
        "then it is rejected and the model is told no one answered.",
    )
    approval_poll_s: float = Field(
        default=1.0,
        gt=0,
        description="How often a waiting run checks the store for a decision taken on "
        "another replica (a decision taken on its own replica wakes it at once).",
    )
    skill_scripts_require_approval: bool = Field(
        default=False,
        description="Every run_skill_script call waits for a person's approval.",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: Any) -> Any:
        """Accept ``key1:alice,key2:bob`` as well as a JSON object."""
        if isinstance(value, str) and value.strip().startswith("{"):
            return json.loads(value)
        if isinstance(value, str):
            pairs = [p.strip() for p in value.split(",") if p.strip()]
            out: dict[str, str] = {}
            for pair in pairs:
                key, sep, user = pair.partition(":")
                if not sep or not key or not user:
                    raise ValueError("SAGE_API_KEYS entries must look like KEY:USER")
                out[key] = user
            return out
        return value

    @field_validator("admin_users", mode="before")
    @classmethod
    def _parse_admin_users(cls, value: Any) -> Any:
        """Accept ``alice,bob`` as well as a JSON list."""
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return {user.strip() for user in value.split(",") if user.strip()}
        return value

    @field_validator(
        "skill_deps_find_links",
        "llm_image_models",
        "tools",
        "builtin_tools",
        "fetch_url_hosts",
        mode="before",
    )
    @classmethod
    def _parse_find_links(cls, value: Any) -> Any:
        """Accept ``a,b`` as well as a JSON list."""
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = urlsplit(value)
        try:
            parsed.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError as exc:
            raise ValueError(f"SAGE_URL {value!r}: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"SAGE_URL {value!r} is not like http://127.0.0.1:8080")
        return value.rstrip("/")

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _parse_trusted_hosts(cls, value: Any) -> Any:
        """Accept ``a.example,b.example`` as well as a JSON list."""
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("database_url must start with postgresql:// (or postgres://)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return value

    @field_validator("mcp_settings_path", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sage.db"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_model) and bool(self.llm_base_url or self.llm_api_key)

    def model_for(self, role: str) -> str:
        if role in self.llm_role_models:
            return self.llm_role_models[role]
        if role in DECIDER_ROLES and self.llm_fast_model:
            return self.llm_fast_model
        return self.llm_model or ""

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
