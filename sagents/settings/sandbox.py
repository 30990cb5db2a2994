"""Settings of how a skill script is confined and bounded (``sagents/skills/``:
``sandbox.py``, ``confinement.py``, ``cgroups.py``).

A new limit on one script call, or a setting of bubblewrap or cgroups, goes
here; where skills come from and what may be uploaded is ``skills.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SandboxSettings(BaseModel):
    """Part of ``Settings``; read from ``SAGE_SKILL_*``."""

    skills_allow_unsandboxed: bool = Field(
        default=False,
        description="Run skill scripts without bubblewrap when it cannot run (unsafe; "
        "logs a warning at every use).",
    )
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
