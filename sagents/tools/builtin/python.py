"""``execute_python``: the model's code, run in the skill sandbox.

The code runs exactly as a skill script does (``sagents/skills/sandbox.py``):
bubblewrap with no network, the session's workspace as the current folder
(a size-capped copy, merged back when the code ends), CPU, memory, process,
output and wall-time limits over the whole process tree (cgroups), and a
cancel of the run kills it. The code is passed on stdin to a small runner
shipped beside this file (``runner/run_code.py``), so nothing of it is
ever written on the host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from sagents.files.announce import announce_files
from sagents.skills.manager import SkillManager
from sagents.tools.builtin.scope import session_and_user
from sagents.tools.decorator import tool
from sagents.tools.spec import ToolSpec

RUNNER = Path(__file__).with_name("runner")
RUNNER_NAME = "execute-python"


class CodeFailed(RuntimeError):
    """The code raised, exited non-zero or hit a limit; the message is the
    JSON result, so the tool result is ``ok: false`` and carries the output."""


def python_tool(skills: SkillManager) -> ToolSpec:
    sandbox = skills.sandbox
    limits = sandbox.limits

    async def execute_python(
        code: Annotated[str, Field(description="Python 3 source to run as a script.")],
    ) -> dict[str, Any]:
        """Run Python code in an isolated sandbox and return its stdout, stderr and
        the files it wrote. The current folder is this session's workspace (uploaded
        files are there; files written there are kept and can be downloaded); there is
        no network, only the standard library, and limits on time and memory. Print
        what you need to see."""
        session_id, _ = session_and_user()
        workspace = skills.workspace(session_id)
        result = await sandbox.run(
            workspace.root,
            RUNNER,
            RUNNER_NAME,
            ["python", "run_code.py"],
            stdin=code.encode(),
        )
        announce_files(result.files)
        payload: dict[str, Any] = {
            "ok": result.ok,
            "exit_code": result.exit_code,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "files": [path for path, _ in result.files],
        }
        if result.notes:
            payload["notes"] = list(result.notes)
        if not result.ok:
            payload["reason"] = result.reason
            if result.limit is not None:
                payload["limit"] = result.limit
            raise CodeFailed(json.dumps(payload, ensure_ascii=False))
        return payload

    return tool(
        name="execute_python",
        timeout_s=limits.deadline_s + 15,
        max_result_chars=limits.max_output_bytes * 2 + 2000,
    )(execute_python)
