"""How one script call is started: the command line, its working folder and
environment, and the descriptors passed to it.

Sandboxed: bubblewrap with the launcher inside, the script's Python laid
out as a venv from data (``pyenv.py``), sandbox paths throughout.
Unsandboxed (the operator's opt-in): the same launcher on the host, in a
private run folder under the staging folder, with a venv written there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sagents.skills import wsstream
from sagents.skills.confinement import (
    SANDBOX_SKILLS,
    SANDBOX_WORKSPACE,
    RunFds,
    SandboxLimits,
    bwrap_command,
    clean_env,
    host_python,
    launcher_config,
    sandbox_python,
    unsandboxed_command,
)
from sagents.skills.pyenv import (
    SANDBOX_DEPS,
    SANDBOX_VENV,
    bwrap_venv,
    pyvenv_cfg,
    skill_pth,
    venv_python,
    write_host_venv,
)
from sagents.skills.run_resources import RunResources, make_run_dir
from sagents.skills.workspace_store import staging_name


@dataclass(frozen=True, slots=True)
class Script:
    """One call: the skill, how its script is run, and with what."""

    skill_dir: Path
    skill_name: str
    interpreter: str
    path: str
    """The script's path relative to the skill folder."""
    args: tuple[str, ...]
    deps: Path | None = None
    """The skill's installed requirements (a ``site-packages`` folder), if any."""


async def script_command(
    script: Script,
    skill: wsstream.Listing,
    res: RunResources,
    *,
    sandboxed: bool,
    limits: SandboxLimits,
    code: tuple[bytes, bytes, bytes],
    seccomp: bytes | None,
    bwrap: str | None,
    uid: int | None,
) -> tuple[list[str], Path | None, dict[str, str], RunFds]:
    """(command, working folder, environment, descriptors) running ``script``
    against the skill streamed as ``skill``; ``uid`` is the call's own uid
    (sandboxed, Sage running as root), else None."""
    if sandboxed:
        venv_files = (
            pyvenv_cfg(sandbox_python()).encode(),
            skill_pth(
                f"{SANDBOX_SKILLS}/{script.skill_name}",
                SANDBOX_DEPS if script.deps is not None else None,
            ).encode(),
        )
        fds = res.fds(code, seccomp, venv_files)
        workspace, skills = SANDBOX_WORKSPACE, SANDBOX_SKILLS
        python, bin_dir = venv_python(SANDBOX_VENV), f"{SANDBOX_VENV}/bin"
    else:
        fds = res.fds(code, None, None)
        res.run_dir = res.staging / staging_name("run")
        await asyncio.to_thread(make_run_dir, res.run_dir)
        workspace, skills = str(res.run_dir / "workspace"), str(res.run_dir / "skills")
        python = await asyncio.to_thread(
            write_host_venv,
            res.run_dir / "venv",
            host_python(),
            f"{skills}/{script.skill_name}",
            script.deps,
        )
        bin_dir = str(res.run_dir / "venv" / "bin")
    interpreter = {"python": python, "sh": "/bin/sh"}
    program = [
        interpreter.get(script.interpreter, script.interpreter),
        f"{skills}/{script.skill_name}/{script.path}",
        *script.args,
    ]
    config = launcher_config(
        limits,
        fds,
        uid=uid,
        workspace=workspace,
        skills=skills,
        skill_name=script.skill_name,
        skill_bytes=skill.usage + wsstream.PAGE,
        skill_entries=len(skill.entries) + 1,
        pid_namespace=sandboxed,
        cgroup=res.cgroup is not None,
    )
    if sandboxed:
        assert bwrap is not None
        assert fds.venv_config is not None and fds.venv_pth is not None
        command = bwrap_command(
            bwrap,
            config,
            fds,
            uid,
            program,
            workspace_bytes=limits.workspace_bytes,
            venv=bwrap_venv(fds.venv_config, fds.venv_pth, script.deps),
            bin_dir=bin_dir,
        )
        return command, None, {"PATH": "/usr/bin:/bin"}, fds
    env = clean_env(workspace, bin_dir)
    return unsandboxed_command(config, program), Path(workspace), env, fds
