"""The Python a skill's script runs: a virtual environment made for each call.

A ``.py`` script runs as ``<venv>/bin/python script.py``, where the venv
is a skeleton laid out for the call around the base interpreter (the one
Sage runs on, read-only at ``/opt/python``):

- ``pyvenv.cfg`` with ``include-system-site-packages = false``: the base
  interpreter's own ``site-packages`` (whatever happens to be installed on
  the host) is not importable, so a skill works the same on every server;
- ``bin/python``, a link to the base interpreter, so ``sys.executable`` is
  the venv's and a script that starts ``sys.executable`` (or a ``.sh``
  script calling ``python3``: ``<venv>/bin`` leads ``PATH``) gets the same
  import path;
- in its ``site-packages``, one ``sage-skill.pth`` putting on the path the
  skill's own folder (``from scripts import helper`` works, as it does when
  the skill is run from its folder) and, when the skill has requirements,
  their installed folder, added as a site directory so its own ``.pth``
  files are honoured.

The import path is then: the script's folder, the standard library, the
skill's folder, its requirements. Inside the sandbox nothing of this is
on disk: bubblewrap makes the folders, the two small files are passed as
data, and the requirements folder is bind-mounted read-only
(``SANDBOX_DEPS``). Without the sandbox the same skeleton is written into
the call's private run folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sagents.skills.confinement import sandbox_python

SANDBOX_VENV = "/opt/venv"
SANDBOX_DEPS = "/opt/skill-deps"
PTH_NAME = "sage-skill.pth"


def site_dir(venv: str) -> str:
    return f"{venv}/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


def venv_python(venv: str) -> str:
    return f"{venv}/bin/python"


def pyvenv_cfg(python: str) -> str:
    """``pyvenv.cfg`` for a venv whose ``bin/python`` links to ``python``."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    return (
        f"home = {os.path.dirname(python)}\n"
        "include-system-site-packages = false\n"
        f"version = {version}\n"
    )


def skill_pth(skill_dir: str, deps: str | None) -> str:
    """The ``.pth`` lines: the skill's folder, then its requirements' site directory."""
    lines = [skill_dir]
    if deps is not None:
        # An ``import`` line is how a .pth adds a *site* directory (one whose
        # own .pth files are processed), not just a path.
        lines.append(f"import site; site.addsitedir({deps!r})")
    return "\n".join(lines) + "\n"


def bwrap_venv(config_fd: int, pth_fd: int, deps: Path | None) -> list[str]:
    """bubblewrap arguments laying out the venv (and mounting the requirements)."""
    site = site_dir(SANDBOX_VENV)
    args = ["--perms", "0755", "--dir", f"{SANDBOX_VENV}/bin"]
    args += ["--symlink", sandbox_python(), venv_python(SANDBOX_VENV)]
    args += ["--symlink", "python", f"{SANDBOX_VENV}/bin/python3"]
    args += ["--perms", "0444", "--ro-bind-data", str(config_fd), f"{SANDBOX_VENV}/pyvenv.cfg"]
    args += ["--perms", "0755", "--dir", site]
    args += ["--perms", "0444", "--ro-bind-data", str(pth_fd), f"{site}/{PTH_NAME}"]
    if deps is not None:
        args += ["--ro-bind", str(deps), SANDBOX_DEPS]
    return args


def write_host_venv(venv: Path, python: str, skill_dir: str, deps: Path | None) -> str:
    """Blocking. The same skeleton on the host (unsandboxed mode); its python."""
    site = Path(site_dir(str(venv)))
    site.mkdir(parents=True)
    (venv / "bin").mkdir()
    os.symlink(python, venv / "bin" / "python")
    os.symlink("python", venv / "bin" / "python3")
    (venv / "pyvenv.cfg").write_text(pyvenv_cfg(python))
    (site / PTH_NAME).write_text(skill_pth(skill_dir, str(deps) if deps is not None else None))
    return venv_python(str(venv))
